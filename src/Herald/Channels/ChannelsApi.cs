using Herald.Auth;
using Herald.Channels.WebPush;
using Herald.Common;

namespace Herald.Channels;

/// <summary>/api/v1/channels: which provider serves which channel, with what credentials and limits.</summary>
public static class ChannelsApi
{
    public static void MapChannelEndpoints(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/v1/channels").WithTags("Channels");

        g.MapGet("/", async (HttpContext http, string? channel, int? page, int? limit, ChannelService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.ListAsync(http.Current(), channel, PageRequest.From(page, limit), ct)))
            .RequireRole(Role.Viewer);

        g.MapGet("/{id:long}", async (HttpContext http, long id, ChannelService svc, CancellationToken ct) =>
            TypedResults.Ok(svc.ToDto(await svc.GetAsync(http.Current(), id, ct))))
            .RequireRole(Role.Viewer);

        g.MapPost("/", async (HttpContext http, ChannelInput input, ChannelService svc, CancellationToken ct) =>
        {
            var dto = await svc.CreateAsync(http.Current(), input, ct);
            return TypedResults.Created($"/api/v1/channels/{dto.Id}", dto);
        }).RequireRole(Role.Admin);

        g.MapPut("/{id:long}", async (HttpContext http, long id, ChannelInput input, ChannelService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.UpdateAsync(http.Current(), id, input, ct)))
            .RequireRole(Role.Admin);

        g.MapDelete("/{id:long}", async (HttpContext http, long id, ChannelService svc, CancellationToken ct) =>
        {
            await svc.DeleteAsync(http.Current(), id, ct);
            return TypedResults.NoContent();
        }).RequireRole(Role.Admin);

        g.MapPost("/{id:long}/test", async (HttpContext http, long id, ChannelService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.TestAsync(http.Current(), id, ct)))
            .RequireRole(Role.Admin);

        app.MapPushSubscriptionsApi();
    }
}
