using Herald.Channels.Receipts;
using Herald.Channels.Smtp;
using Herald.Channels.Twilio;
using Herald.Channels.WebPush;
using Herald.Channels.Webhook;
using Herald.Channels.WhatsApp;

namespace Herald.Channels;

/// <summary>Wires the channel providers, the channels API and the providers' public webhooks.</summary>
public static class ChannelsSetup
{
    public static IServiceCollection AddHeraldChannels(this IServiceCollection services)
    {
        services.AddScoped<ChannelService>();
        services.AddScoped<DeliveryReceipts>();

        foreach (var name in new[] { HttpChannel.Twilio, HttpChannel.WhatsApp, HttpChannel.WebPush, HttpChannel.Webhook })
            services.AddHttpClient(name, c => c.Timeout = HttpChannel.Timeout)
                .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
                {
                    // Many messages to one host: keep connections, but rotate them so DNS changes are seen.
                    PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                    MaxConnectionsPerServer = 64,
                    AllowAutoRedirect = false,
                });

        AddProvider<SmtpChannel>(services);
        AddProvider<TwilioChannel>(services);
        AddProvider<WhatsAppChannel>(services);
        AddProvider<WebPushChannel>(services);
        AddProvider<WebhookChannel>(services);
        return services;
    }

    private static void AddProvider<T>(IServiceCollection services) where T : class, IChannelProviderFactory, IChannelProviderDefinition
    {
        services.AddSingleton<T>();
        services.AddSingleton<IChannelProviderFactory>(sp => sp.GetRequiredService<T>());
        services.AddSingleton<IChannelProviderDefinition>(sp => sp.GetRequiredService<T>());
    }

    public static WebApplication MapChannelsApi(this WebApplication app)
    {
        app.MapChannelEndpoints();
        app.MapTwilioWebhooks();
        app.MapWhatsAppWebhooks();
        return app;
    }
}
