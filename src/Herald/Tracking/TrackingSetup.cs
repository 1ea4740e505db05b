using System.Threading.RateLimiting;
using Herald.Contacts;
using Herald.Hosting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Herald.Tracking;

/// <summary>Wires tracking: tokens, recorder, link planning, order attribution, the A/B decider (scheduler role) and the public rate limit.</summary>
public static class TrackingSetup
{
    /// <summary>Rate-limit policy of the public /t/* and /u/* endpoints: a token bucket per client address.</summary>
    public const string RateLimitPolicy = "Tracking";

    public static IServiceCollection AddTracking(this IServiceCollection services, HeraldOptions options)
    {
        services.AddOptions<TrackingOptions>().BindConfiguration(TrackingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<TrackingTokens>();
        services.AddScoped<TrackingRecorder>();
        services.AddScoped<LinkTracker>();
        services.AddScoped<IContactObserver, ConversionAttribution>();
        services.AddSingleton<AbTestDecider>();
        if (options.HasRole("scheduler")) services.AddHostedService<AbTestWorker>();
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            // Behind a proxy every client shares its address unless forwarded headers are configured.
            o.AddPolicy(RateLimitPolicy, http =>
            {
                var t = http.RequestServices.GetRequiredService<IOptions<TrackingOptions>>().Value;
                return RateLimitPartition.GetTokenBucketLimiter(http.Connection.RemoteIpAddress?.ToString() ?? "-", _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = t.PublicRateBurst, TokensPerPeriod = t.PublicRatePerSecond, ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0, AutoReplenishment = true,
                });
            });
        });
        return services;
    }
}
