using Herald.Contacts;
using Herald.Hosting;

namespace Herald.Journeys;

/// <summary>Registers journeys: service, triggers (as a contact observer), sender and, on worker nodes, the engine.</summary>
public static class JourneysSetup
{
    public static IServiceCollection AddJourneys(this IServiceCollection services, HeraldOptions options)
    {
        services.AddOptions<JourneyEngineOptions>().BindConfiguration(JourneyEngineOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<JourneySignal>();
        services.AddSingleton<JourneyPlanCache>();
        services.AddSingleton<JourneyCampaignCache>();
        services.AddSingleton<JourneyEngine>();
        services.AddScoped<JourneyService>();
        services.AddScoped<JourneyEnroller>();
        services.AddScoped<IJourneySender, JourneySender>();
        services.AddScoped<IContactObserver, JourneyTriggers>();
        if (options.HasRole("worker")) services.AddHostedService<JourneyEngineService>();
        return services;
    }
}
