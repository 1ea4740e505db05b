using Herald.Auth;
using Herald.Common;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Herald.Journeys;

/// <summary>/api/v1/journeys: definitions, lifecycle, manual enrollment and progress.</summary>
public static class JourneysApi
{
    public static void MapJourneysApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/v1/journeys").WithTags("Journeys");

        g.MapPost("/", async Task<Created<JourneyDto>> (HttpContext http, JourneyInput input, JourneyService svc, CancellationToken ct) =>
        {
            var j = await svc.CreateAsync(http.Current(), input, ct);
            return TypedResults.Created($"/api/v1/journeys/{j.Id}", JourneyDto.From(j));
        }).RequireRole(Role.Editor);

        g.MapGet("/", async (HttpContext http, string? status, int? page, int? limit, JourneyService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.ListAsync(http.Current(), status, PageRequest.From(page, limit), ct)))
            .RequireRole(Role.Viewer);

        g.MapGet("/{id:long}", async (HttpContext http, long id, JourneyService svc, CancellationToken ct) =>
            TypedResults.Ok(JourneyDto.From(await svc.GetAsync(http.Current(), id, ct))))
            .RequireRole(Role.Viewer);

        g.MapPut("/{id:long}", async (HttpContext http, long id, JourneyInput input, JourneyService svc, CancellationToken ct) =>
            TypedResults.Ok(JourneyDto.From(await svc.UpdateAsync(http.Current(), id, input, ct))))
            .RequireRole(Role.Editor);

        g.MapPost("/{id:long}/activate", async (HttpContext http, long id, JourneyService svc, CancellationToken ct) =>
            TypedResults.Ok(JourneyDto.From(await svc.ActivateAsync(http.Current(), id, ct))))
            .RequireRole(Role.Editor);

        g.MapPost("/{id:long}/pause", async (HttpContext http, long id, JourneyService svc, CancellationToken ct) =>
            TypedResults.Ok(JourneyDto.From(await svc.PauseAsync(http.Current(), id, ct))))
            .RequireRole(Role.Editor);

        g.MapPost("/{id:long}/enroll", async (HttpContext http, long id, EnrollInput input, JourneyService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.EnrollAsync(http.Current(), id, input, ct)))
            .RequireRole(Role.Editor);

        g.MapGet("/{id:long}/status", async (HttpContext http, long id, JourneyService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.StatusAsync(http.Current(), id, ct)))
            .RequireRole(Role.Viewer);

        g.MapGet("/{id:long}/enrollments", async (HttpContext http, long id, string? state, int? page, int? limit, JourneyService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.EnrollmentsAsync(http.Current(), id, state, PageRequest.From(page, limit), ct)))
            .RequireRole(Role.Viewer);

        g.MapGet("/{id:long}/jobs", async (HttpContext http, long id, string? status, int? page, int? limit, JourneyService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.JobsAsync(http.Current(), id, status, PageRequest.From(page, limit), ct)))
            .RequireRole(Role.Viewer);
    }
}
