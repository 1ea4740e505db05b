using Herald.Auth;
using Herald.Common;
using Herald.Hosting;
using Herald.Scheduling;
using Herald.Templates;

namespace Herald.Campaigns;

/// <summary>/api/v1/campaigns: CRUD, the approval workflow, running control, reschedule and runs.</summary>
public static class CampaignsApi
{
    /// <summary>Templates, campaigns and the scheduler (one line in HeraldHost).</summary>
    public static IServiceCollection AddHeraldCampaigns(this IServiceCollection services, HeraldOptions options)
    {
        services.AddHeraldTemplates();
        services.AddHeraldScheduling(options);
        services.AddScoped<CampaignService>();
        CampaignExpiry.AddCampaignExpiry(services, options);
        return services;
    }

    /// <summary>Maps /api/v1/templates and /api/v1/campaigns.</summary>
    public static void MapCampaignsApi(this IEndpointRouteBuilder app)
    {
        app.MapTemplatesApi();
        var g = app.MapGroup("/api/v1/campaigns").WithTags("Campaigns");

        g.MapPost("/", async (HttpContext http, CampaignInput input, CampaignService svc, CancellationToken ct) =>
        {
            var c = await svc.CreateAsync(http.Current(), input, ct);
            return TypedResults.Created($"/api/v1/campaigns/{c.Id}", CampaignDto.From(c));
        }).RequireRole(Role.Editor);

        g.MapGet("/", async (HttpContext http, string? status, string? channel, int? page, int? limit, CampaignService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.ListAsync(http.Current(), status, channel, PageRequest.From(page, limit), ct)))
            .RequireRole(Role.Viewer);

        g.MapGet("/{id:long}", async (HttpContext http, long id, CampaignService svc, CancellationToken ct) =>
            TypedResults.Ok(CampaignDto.From(await svc.GetAsync(http.Current(), id, ct)))).RequireRole(Role.Viewer);

        g.MapPatch("/{id:long}", async (HttpContext http, long id, CampaignInput input, CampaignService svc, CancellationToken ct) =>
            TypedResults.Ok(CampaignDto.From(await svc.PatchAsync(http.Current(), id, input, ct)))).RequireRole(Role.Editor);

        g.MapDelete("/{id:long}", async (HttpContext http, long id, CampaignService svc, CancellationToken ct) =>
        {
            await svc.DeleteAsync(http.Current(), id, ct);
            return TypedResults.NoContent();
        }).RequireRole(Role.Editor);

        g.MapPost("/{id:long}/submit", async (HttpContext http, long id, CampaignService svc, CancellationToken ct) =>
            TypedResults.Ok(CampaignDto.From(await svc.SubmitAsync(http.Current(), id, ct)))).RequireRole(Role.Editor);

        g.MapPost("/{id:long}/approve", async (HttpContext http, long id, CampaignService svc, CancellationToken ct) =>
            TypedResults.Ok(CampaignDto.From(await svc.ApproveAsync(http.Current(), id, ct)))).RequireRole(Role.Approver);

        g.MapPost("/{id:long}/reject", async (HttpContext http, long id, RejectInput input, CampaignService svc, CancellationToken ct) =>
            TypedResults.Ok(CampaignDto.From(await svc.RejectAsync(http.Current(), id, input.Reason, ct)))).RequireRole(Role.Approver);

        g.MapPost("/{id:long}/send", async (HttpContext http, long id, CampaignService svc, CancellationToken ct) =>
        {
            var (c, run) = await svc.SendNowAsync(http.Current(), id, ct);
            return TypedResults.Accepted($"/api/v1/campaigns/{c.Id}/runs", new SendNowDto(CampaignDto.From(c), CampaignRunDto.From(run)));
        }).RequireRole(Role.Editor);

        g.MapPost("/{id:long}/pause", async (HttpContext http, long id, CampaignService svc, CancellationToken ct) =>
            TypedResults.Ok(CampaignDto.From(await svc.PauseAsync(http.Current(), id, ct)))).RequireRole(Role.Editor);

        g.MapPost("/{id:long}/resume", async (HttpContext http, long id, CampaignService svc, CancellationToken ct) =>
            TypedResults.Ok(CampaignDto.From(await svc.ResumeAsync(http.Current(), id, ct)))).RequireRole(Role.Editor);

        g.MapPost("/{id:long}/cancel", async (HttpContext http, long id, CampaignService svc, CancellationToken ct) =>
            TypedResults.Ok(CampaignDto.From(await svc.CancelAsync(http.Current(), id, ct)))).RequireRole(Role.Editor);

        g.MapPatch("/{id:long}/schedule", async (HttpContext http, long id, RescheduleInput input, CampaignService svc, CancellationToken ct) =>
            TypedResults.Ok(CampaignDto.From(await svc.RescheduleAsync(http.Current(), id, input.Schedule, ct)))).RequireRole(Role.Editor);

        g.MapGet("/{id:long}/runs", async (HttpContext http, long id, int? page, int? limit, CampaignService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.ListRunsAsync(http.Current(), id, PageRequest.From(page, limit), ct))).RequireRole(Role.Viewer);
    }
}

public sealed record SendNowDto(CampaignDto Campaign, CampaignRunDto Run);
