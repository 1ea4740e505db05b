using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Herald.Auth;
using Herald.Storage;
using Herald.Workspaces;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace Herald.Tests.Infrastructure;

/// <summary>
/// The real Herald app (WebApplicationFactory) on a fresh database of the provider under test.
/// Each instance is one isolated Herald. Background roles are off unless a test asks for them,
/// and time is a <see cref="FakeTimeProvider"/> when <see cref="UseFakeTime"/> is set.
/// </summary>
public class HeraldApp : WebApplicationFactory<Program>, IAsyncLifetime
{
    private TestDatabase? _db;
    public FakeTimeProvider? Clock { get; private set; }

    /// <summary>Set before the host starts to run on a fake clock starting at this instant.</summary>
    public DateTimeOffset? UseFakeTime { get; init; }

    /// <summary>Roles the test host plays (default: web only; background services off).</summary>
    public string Roles { get; init; } = "web";

    /// <summary>
    /// Serve on this real loopback port (Kestrel) instead of the in-memory test server, with <c>Herald:PublicBaseUrl</c>
    /// pointing at it: links Herald puts in messages can then be fetched with any HTTP client.
    /// </summary>
    public int? KestrelPort { get; init; }

    /// <summary>Extra configuration (Herald:... keys).</summary>
    public Dictionary<string, string?> Settings { get; } = new();

    /// <summary>Extra service registrations applied after Herald's own.</summary>
    public Action<IServiceCollection>? ConfigureTestServices { get; init; }

    public TestDatabase Database => _db ?? throw new InvalidOperationException("Call InitializeAsync first.");

    public virtual async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync();
        if (UseFakeTime is { } start) Clock = new FakeTimeProvider(start);
        if (KestrelPort is { } port)
        {
            UseKestrel(port);
            StartServer();
        }
        else _ = Server; // boots the host: migrations run now
    }

    public new virtual async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_db is not null) await _db.DisposeAsync();
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Urls", "http://127.0.0.1:0");
        // EF logs a failed probe of the migrations table on every fresh PostgreSQL database; errors still throw.
        builder.UseSetting("Logging:LogLevel:Microsoft.EntityFrameworkCore.Database.Command", "None");
        builder.UseSetting("Herald:Database:Provider", TestDatabase.Provider);
        builder.UseSetting("Herald:Database:ConnectionString", Database.ConnectionString);
        builder.UseSetting("Herald:DataDirectory", Database.DataDirectory);
        builder.UseSetting("Herald:Roles", Roles);
        builder.UseSetting("Herald:PublicBaseUrl", KestrelPort is { } port ? $"http://127.0.0.1:{port}" : "http://herald.test");
        foreach (var (k, v) in Settings) builder.UseSetting(k, v);
        builder.ConfigureTestServices(services =>
        {
            if (Clock is not null)
            {
                services.RemoveAll<TimeProvider>();
                services.AddSingleton<TimeProvider>(Clock);
            }
            ConfigureTestServices?.Invoke(services);
        });
    }

    /// <summary>Runs <paramref name="work"/> with a scoped service provider (a fresh DbContext).</summary>
    public async Task<T> WithScopeAsync<T>(Func<IServiceProvider, Task<T>> work)
    {
        await using var scope = Services.CreateAsyncScope();
        return await work(scope.ServiceProvider);
    }

    public Task WithDbAsync(Func<HeraldDb, Task> work) => WithScopeAsync(async sp => { await work(sp.GetRequiredService<HeraldDb>()); return true; });

    public Task<T> WithDbAsync<T>(Func<HeraldDb, Task<T>> work) => WithScopeAsync(sp => work(sp.GetRequiredService<HeraldDb>()));

    /// <summary>Creates a workspace with an admin user and returns it with an API-key client per role.</summary>
    public async Task<TestWorkspace> CreateWorkspaceAsync(string name = "ws", Action<WorkspaceInput>? settings = null)
    {
        return await WithScopeAsync(async sp =>
        {
            var db = sp.GetRequiredService<HeraldDb>();
            var svc = sp.GetRequiredService<WorkspaceService>();
            var now = sp.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime;
            var email = $"admin-{Guid.NewGuid():N}@example.com";
            var admin = new User { Email = email, Name = "Admin " + name, CreatedAt = now };
            db.Users.Add(admin);
            await db.SaveChangesAsync();
            var input = new WorkspaceInput { Name = name };
            settings?.Invoke(input);
            var ws = await svc.CreateAsync(null, admin.Id, input, default);
            var keys = new Dictionary<Role, string>();
            var users = new Dictionary<Role, long> { [Role.Admin] = admin.Id };
            foreach (var role in Enum.GetValues<Role>())
            {
                long userId = admin.Id;
                if (role != Role.Admin)
                {
                    var u = new User { Email = $"{role.ToString().ToLowerInvariant()}-{Guid.NewGuid():N}@example.com", CreatedAt = now };
                    db.Users.Add(u);
                    await db.SaveChangesAsync();
                    db.Memberships.Add(new Membership { WorkspaceId = ws.Id, UserId = u.Id, Role = role, CreatedAt = now });
                    userId = u.Id;
                    users[role] = u.Id;
                }
                var key = ApiKeys.NewKey();
                db.ApiKeys.Add(ApiKeys.Create(ws.Id, role.ToString(), role, userId, now, key, out _));
                keys[role] = key;
            }
            await db.SaveChangesAsync();
            return new TestWorkspace(this, ws.Id, keys, users);
        });
    }

    public HttpClient ClientWithKey(string? key)
    {
        var c = CreateClient(new WebApplicationFactoryClientOptions
        {
            AllowAutoRedirect = false,
            BaseAddress = KestrelPort is { } port ? new Uri($"http://127.0.0.1:{port}") : new WebApplicationFactoryClientOptions().BaseAddress,
        });
        if (key is not null) c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return c;
    }
}

/// <summary>A workspace made for a test, with one API key per role.</summary>
public sealed record TestWorkspace(HeraldApp App, long Id, IReadOnlyDictionary<Role, string> Keys, IReadOnlyDictionary<Role, long> UserIds)
{
    public HttpClient Client(Role role = Role.Admin) => App.ClientWithKey(Keys[role]);
    public Caller Caller(Role role = Role.Admin) => new(Id, role, $"user:{UserIds[role]}", UserIds[role]);
}

public static class HttpExtensions
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage r)
    {
        var text = await r.Content.ReadAsStringAsync();
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Reads the body as JSON after asserting the status, showing the body when it differs.</summary>
    public static async Task<JsonElement> ExpectAsync(this HttpResponseMessage r, System.Net.HttpStatusCode status)
    {
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == status, $"Expected {(int)status} but got {(int)r.StatusCode}: {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient c, string url, object body) => c.PostAsJsonAsync(url, body, Json);
    public static Task<HttpResponseMessage> PatchJsonAsync(this HttpClient c, string url, object body) => c.PatchAsJsonAsync(url, body, Json);
    public static Task<HttpResponseMessage> PutJsonAsync(this HttpClient c, string url, object body) => c.PutAsJsonAsync(url, body, Json);
}
