using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Herald.Hosting;

/// <summary>Request limits per client address, section <c>Herald:RateLimits</c>.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "Herald:RateLimits";

    /// <summary>Sign-in and first-run setup attempts per client address per minute (password guessing). Default: 20.</summary>
    [Range(1, 100_000)]
    public int LoginPerMinute { get; set; } = 20;

    /// <summary>
    /// Requests per second per client address to anonymous endpoints (provider webhooks, tracking, unsubscribe).
    /// Generous: a provider's status callbacks or a mail provider's image proxy arrive from few addresses. Default: 200.
    /// </summary>
    [Range(1, 1_000_000)]
    public int PublicPerSecond { get; set; } = 200;

    /// <summary>Burst allowed above <see cref="PublicPerSecond"/> (bucket size). Default: 400.</summary>
    [Range(1, 1_000_000)]
    public int PublicBurst { get; set; } = 400;
}

/// <summary>
/// Named ASP.NET Core rate-limiter policies. Apply with <c>.RequireRateLimiting(HeraldRateLimits.Login)</c> on
/// sign-in and setup, and <c>.RequireRateLimiting(HeraldRateLimits.Public)</c> on every anonymous endpoint
/// (<c>/webhooks/*</c>, <c>/t/*</c>, <c>/u/*</c>). Rejections answer 429 problem+json with Retry-After.
/// Limits are per node (in memory): with N nodes behind a balancer an address gets up to N times the limit.
/// </summary>
public static class HeraldRateLimits
{
    public const string Login = "herald-login";
    public const string Public = "herald-public";

    public static IServiceCollection AddHeraldRateLimits(this IServiceCollection services)
    {
        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(Login, http =>
            {
                var opt = http.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;
                return RateLimitPartition.GetFixedWindowLimiter(ClientKey(http), _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = opt.LoginPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0,
                });
            });
            o.AddPolicy(Public, http =>
            {
                var opt = http.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;
                return RateLimitPartition.GetTokenBucketLimiter(ClientKey(http), _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = Math.Max(opt.PublicBurst, opt.PublicPerSecond), TokensPerPeriod = opt.PublicPerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1), QueueLimit = 0, AutoReplenishment = true,
                });
            });
            o.OnRejected = async (ctx, ct) =>
            {
                var http = ctx.HttpContext;
                var retry = ctx.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                await Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests",
                    detail: $"Too many requests from this address; try again in {Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds))} s.").ExecuteAsync(http);
            };
        });
        return services;
    }

    /// <summary>The client address (Kestrel's remote IP; put a forwarded-headers middleware in front when behind a proxy).</summary>
    private static string ClientKey(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
}
