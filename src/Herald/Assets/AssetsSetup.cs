using Herald.Hosting;

namespace Herald.Assets;

/// <summary>Media library, product catalog, WhatsApp template sync and demo data (one line each in HeraldHost).</summary>
public static class AssetsSetup
{
    public static IServiceCollection AddAssets(this IServiceCollection services)
    {
        services.AddOptions<MediaOptions>().BindConfiguration(MediaOptions.Section);
        services.AddSingleton<IMediaStore, DiskMediaStore>();
        services.AddScoped<MediaService>();
        services.AddScoped<ProductService>();
        services.AddScoped<WhatsAppTemplateSync>();
        services.AddScoped<CampaignAssets>();
        services.AddScoped<DemoData>();
        return services;
    }

    public static void MapAssetsApi(this IEndpointRouteBuilder app)
    {
        app.MapMediaApi();
        app.MapProductsApi();
        app.MapWhatsAppTemplatesApi();
    }
}
