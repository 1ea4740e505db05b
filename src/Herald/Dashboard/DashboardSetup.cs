using MudBlazor;
using MudBlazor.Services;

namespace Herald.Dashboard;

/// <summary>
/// The web dashboard: Blazor Web App with interactive server rendering and MudBlazor. Pages call the
/// application services in-process through <see cref="DashboardServices"/> (never our own HTTP API),
/// so every business rule lives once, in the services.
/// </summary>
public static class DashboardSetup
{
    public static IServiceCollection AddDashboard(this IServiceCollection services)
    {
        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddCascadingAuthenticationState();
        services.AddMudServices(o =>
        {
            o.SnackbarConfiguration.PositionClass = Defaults.Classes.Position.BottomRight;
            o.SnackbarConfiguration.VisibleStateDuration = 6000;
        });
        services.AddScoped<DashboardServices>();
        services.AddSingleton<LiveUpdates>();
        services.AddHostedService<ProgressRelay>();
        return services;
    }

    public static WebApplication MapDashboard(this WebApplication app)
    {
        // The manifest is written next to the entry assembly of a web project; a host that embeds Herald
        // (the benchmarks) has none, and then serves the API without the dashboard's static files.
        var manifest = Path.Combine(AppContext.BaseDirectory, $"{app.Environment.ApplicationName}.staticwebassets.endpoints.json");
        if (File.Exists(manifest)) app.MapStaticAssets();
        else app.Logger.LogWarning("No static web assets manifest at {Manifest}: the dashboard's static files are not served by this host", manifest);
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }
}
