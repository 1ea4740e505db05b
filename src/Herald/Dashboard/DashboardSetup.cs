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
        app.MapStaticAssets();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }
}
