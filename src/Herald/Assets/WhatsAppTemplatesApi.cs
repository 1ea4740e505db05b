using Herald.Auth;
using Herald.Common;

namespace Herald.Assets;

/// <summary>/api/v1/channels/whatsapp/templates: sync from the Cloud API and the synced list.</summary>
public static class WhatsAppTemplatesApi
{
    public static void MapWhatsAppTemplatesApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/v1/channels/whatsapp/templates").WithTags("Channels");

        // Editor may sync: it only reads from Meta what the workspace's admin configured, and campaign authors need a fresh list.
        g.MapPost("/sync", async (HttpContext http, long? channelId, WhatsAppTemplateSync sync, CancellationToken ct) =>
        {
            try
            {
                return Results.Ok(await sync.SyncAsync(http.Current(), channelId, ct));
            }
            catch (UpstreamException e)
            {
                return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status502BadGateway, title: "The WhatsApp Cloud API did not answer with the template list.");
            }
        }).RequireRole(Role.Editor);

        g.MapGet("/", async (HttpContext http, string? status, string? name, int? page, int? limit, WhatsAppTemplateSync sync, CancellationToken ct) =>
            TypedResults.Ok(await sync.ListAsync(http.Current(), status, name, PageRequest.From(page, limit), ct))).RequireRole(Role.Viewer);
    }
}
