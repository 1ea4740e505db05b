using Herald.Campaigns;
using Herald.Channels;
using Herald.Hosting;

namespace Herald.Delivery;

/// <summary>Wires the delivery engine: run starter, workers (worker role), router, sandbox, rate limiter, progress.</summary>
public static class DeliverySetup
{
    public static IServiceCollection AddDelivery(this IServiceCollection services, HeraldOptions options)
    {
        services.AddOptions<DeliveryOptions>().BindConfiguration(DeliveryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<DeliverySignal>();
        services.AddSingleton<IDeliveryProgress, DeliveryProgress>();
        services.AddSingleton<DeliveryCompletion>();
        services.AddSingleton<ChannelRouter>();
        services.AddSingleton<IChannelProviderFactory, SandboxProviderFactory>();
        if (options.Database.IsPostgres) services.AddSingleton<IRateLimiter, PostgresRateLimiter>();
        else services.AddSingleton<IRateLimiter, InProcessRateLimiter>();
        services.AddSingleton<DeliveryEngine>();
        services.AddScoped<IRunStarter, RunStarter>();
        services.AddScoped<DeliveryService>();
        if (options.HasRole("worker")) services.AddHostedService<DeliveryWorker>();
        return services;
    }
}
