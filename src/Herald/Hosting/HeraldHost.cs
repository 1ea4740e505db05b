using Herald.Assets;
using Herald.Audience;
using Herald.Audit;
using Herald.Auth;
using Herald.Campaigns;
using Herald.Channels;
using Herald.Common;
using Herald.Contacts;
using Herald.Dashboard;
using Herald.Delivery;
using Herald.Journeys;
using Herald.Storage;
using Herald.Tracking;
using Herald.Workspaces;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using Scalar.AspNetCore;

namespace Herald.Hosting;

/// <summary>Everything Herald registers and maps; Program.cs stays three lines.</summary>
public static class HeraldHost
{
    /// <summary>Largest body any endpoint may accept (imports and media); ordinary JSON is held lower per endpoint.</summary>
    public const long MaxAnyBodyBytes = 512L * 1024 * 1024;

    public static WebApplicationBuilder AddHerald(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var options = builder.Configuration.GetSection(HeraldOptions.Section).Get<HeraldOptions>() ?? new HeraldOptions();
        services.AddOptions<HeraldOptions>().BindConfiguration(HeraldOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = MaxAnyBodyBytes);
        // Serves the dashboard's package assets (MudBlazor, blazor.web.js) from the build output in every
        // environment, so `dotnet run` works outside Development too; a no-op for published output.
        builder.WebHost.UseStaticWebAssets();
        services.Configure<JsonOptions>(o => HeraldJson.Configure(o.SerializerOptions));
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddProblemDetails(o => o.CustomizeProblemDetails = ctx =>
        {
            ctx.ProblemDetails.Instance ??= ctx.HttpContext.Request.Path;
            ctx.ProblemDetails.Extensions.Remove("exception");
        });
        services.AddExceptionHandler<HeraldExceptionHandler>();
        services.AddMemoryCache();
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpContextAccessor();
        services.AddAntiforgery();

        services.AddHeraldStorage(options);
        services.AddDataProtection().SetApplicationName("Herald").PersistKeysToDbContext<HeraldDb>();
        services.AddHeraldAuth();
        services.AddHeraldRateLimits();

        services.AddSingleton<Herald.Channels.ChannelSecrets>();
        services.AddScoped<AuditLog>();
        services.AddScoped<AuditReader>();
        services.AddScoped<ContactService>();
        services.AddHeraldChannels();
        services.AddScoped<WorkspaceService>();
        services.AddAudience();
        services.AddSingleton<IPasswordHasher<User>, PasswordHasher<User>>();
        services.AddHeraldCampaigns(options);

        services.AddDashboard();
        services.AddDelivery(options);
        services.AddTracking(options);
        services.AddJourneys(options);
        services.AddAssets();

        services.AddHealthChecks().AddCheck<DatabaseReadyCheck>("database", tags: ["ready"]);
        services.AddOpenApi("v1", o => o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info.Title = "Herald API";
            doc.Info.Description = "Self-hosted marketing campaign engine. Authenticate with `Authorization: Bearer <api key>` or `X-Api-Key`.";
            return Task.CompletedTask;
        }));
        services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter(HeraldMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime")
            .AddPrometheusExporter());
        services.AddSingleton<HeraldMetrics>();
        return builder;
    }

    /// <summary>Applies migrations (when enabled) and the bootstrap settings before the app serves.</summary>
    public static async Task PrepareHeraldAsync(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<HeraldOptions>>().Value;
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
        if (options.Database.MigrateOnStart) await StorageSetup.MigrateAsync(db, app.Lifetime.ApplicationStopping);
        await scope.ServiceProvider.GetRequiredService<WorkspaceService>().BootstrapAsync(options.Bootstrap, app.Lifetime.ApplicationStopping);
        await DemoData.LoadOnStartAsync(app.Services, app.Lifetime.ApplicationStopping);
    }

    public static WebApplication MapHerald(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<BodySizeLimitMiddleware>();
        app.UseRateLimiter();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();

        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = c => c.Tags.Contains("ready"),
            ResultStatusCodes = { [HealthStatus.Unhealthy] = 503, [HealthStatus.Degraded] = 200 },
        });
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapScalarApiReference("/docs", o => o.WithTitle("Herald API").WithOpenApiRoutePattern("/openapi/{documentName}.json"));

        app.MapWorkspacesApi();
        app.MapContactsApi();
        app.MapChannelsApi();
        app.MapAudienceApi();
        app.MapAuditApi();
        app.MapCampaignsApi();
        app.MapDeliveryApi();
        app.MapTrackingApi();
        app.MapJourneysApi();
        app.MapAssetsApi();
        app.MapAccountPages();
        app.MapDashboard();
        return app;
    }
}
