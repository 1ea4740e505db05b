using Herald.Contacts;
using Herald.Hosting;

namespace Herald.Tracking;

/// <summary>Wires tracking: tokens, recorder, link planning, order attribution, the A/B decider (scheduler role). The public endpoints are limited by <see cref="HeraldRateLimits.Public"/>.</summary>
public static class TrackingSetup
{
    public static IServiceCollection AddTracking(this IServiceCollection services, HeraldOptions options)
    {
        services.AddOptions<TrackingOptions>().BindConfiguration(TrackingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<TrackingTokens>();
        services.AddScoped<TrackingRecorder>();
        services.AddScoped<LinkTracker>();
        services.AddScoped<IContactObserver, ConversionAttribution>();
        services.AddSingleton<AbTestDecider>();
        services.AddSingleton<CampaignStatsSnapshots>();
        if (options.HasRole("scheduler")) services.AddHostedService<AbTestWorker>();
        return services;
    }
}
