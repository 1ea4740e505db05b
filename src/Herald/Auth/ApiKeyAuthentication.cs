using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Herald.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Herald.Auth;

/// <summary>
/// Authenticates <c>Authorization: Bearer &lt;key&gt;</c> or <c>X-Api-Key: &lt;key&gt;</c> against the hashed
/// keys. A key found is cached for a few seconds (a revocation reaches other nodes within that time);
/// the last-used time is written at most once a minute per key so reads stay reads.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IServiceScopeFactory scopes,
    IMemoryCache cache,
    TimeProvider clock) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(10);

    public static string? ReadKey(HttpRequest request)
    {
        if (request.Headers.TryGetValue("X-Api-Key", out var x) && !string.IsNullOrWhiteSpace(x)) return x.ToString().Trim();
        var auth = request.Headers.Authorization.ToString();
        return auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? auth[7..].Trim() : null;
    }

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = ReadKey(Request);
        if (string.IsNullOrEmpty(key)) return AuthenticateResult.NoResult();
        var hash = ApiKeys.Hash(key);
        var found = await cache.GetOrCreateAsync("apikey:" + hash, async entry =>
        {
            entry.AbsoluteExpirationRelativeToNow = CacheFor;
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
            var k = await db.ApiKeys.AsNoTracking().FirstOrDefaultAsync(a => a.Hash == hash && a.RevokedAt == null);
            if (k is null) return null;
            var now = clock.GetUtcNow().UtcDateTime;
            if (k.LastUsedAt is null || now - k.LastUsedAt > TimeSpan.FromMinutes(1))
                await db.ApiKeys.Where(a => a.Id == k.Id).ExecuteUpdateAsync(s => s.SetProperty(a => a.LastUsedAt, now));
            return k;
        });
        if (found is null) return AuthenticateResult.Fail("Invalid API key.");
        var identity = Caller.Identity(found.WorkspaceId, found.Role, $"key:{found.Id}", found.CreatedByUserId, SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = 401;
        Response.Headers.WWWAuthenticate = "Bearer";
        return Task.CompletedTask;
    }
}

/// <summary>Creating, hashing and revoking API keys.</summary>
public static class ApiKeys
{
    /// <summary>SHA-256 of the key: keys are 256-bit random, so a fast hash is as safe as a slow one.</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public static string NewKey() => "hk_" + Base64Url(RandomNumberGenerator.GetBytes(32));

    public static string PrefixOf(string key) => key.Length <= 10 ? key[..Math.Min(key.Length, 4)] : key[..10];

    public static ApiKey Create(long workspaceId, string name, Role role, long? createdBy, DateTime now, string? key = null) =>
        Create(workspaceId, name, role, createdBy, now, key ?? NewKey(), out _);

    public static ApiKey Create(long workspaceId, string name, Role role, long? createdBy, DateTime now, string key, out string plaintext)
    {
        plaintext = key;
        return new ApiKey
        {
            WorkspaceId = workspaceId, Name = name, Role = role, CreatedByUserId = createdBy, CreatedAt = now,
            Hash = Hash(key), Prefix = PrefixOf(key),
        };
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
