using Herald.Auth;
using Herald.Common;

namespace Herald.Delivery;

/// <summary>
/// Delivery endpoints: campaign stats, deliveries (paged or CSV), retry-failed, test-send, analytics and the
/// sandbox outbox. (/campaigns/{id}/runs belongs to the campaigns feature.)
/// </summary>
public static class DeliveryApi
{
    public static void MapDeliveryApi(this IEndpointRouteBuilder app)
    {
        var c = app.MapGroup("/api/v1/campaigns").WithTags("Delivery");

        c.MapGet("/{id:long}/stats", async (HttpContext http, long id, long? runId, DeliveryService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.StatsAsync(http.Current(), id, runId, ct))).RequireRole(Role.Viewer);

        c.MapGet("/{id:long}/deliveries", async (HttpContext http, long id, string? status, long? runId, string? format, int? page, int? limit,
            DeliveryService svc, CancellationToken ct) =>
        {
            if (string.Equals(format, "csv", StringComparison.OrdinalIgnoreCase))
            {
                var caller = http.Current();
                return (IResult)TypedResults.Stream(stream => svc.WriteCsvAsync(caller, id, status, runId, stream, ct), "text/csv",
                    $"campaign-{id}-deliveries.csv");
            }
            return TypedResults.Ok(await svc.DeliveriesAsync(http.Current(), id, status, runId, PageRequest.From(page, limit), ct));
        }).RequireRole(Role.Viewer);

        c.MapPost("/{id:long}/retry-failed", async (HttpContext http, long id, DeliveryService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.RetryFailedAsync(http.Current(), id, ct))).RequireRole(Role.Editor);

        c.MapPost("/{id:long}/test-send", async (HttpContext http, long id, TestSendInput input, DeliveryService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.TestSendAsync(http.Current(), id, input, ct))).RequireRole(Role.Editor);

        app.MapGet("/api/v1/analytics", async (HttpContext http, int? page, int? limit, DeliveryService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.AnalyticsAsync(http.Current(), PageRequest.From(page, limit), ct))).RequireRole(Role.Viewer).WithTags("Delivery");

        app.MapGet("/api/v1/outbox", async (HttpContext http, long? campaignId, int? page, int? limit, DeliveryService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.OutboxAsync(http.Current(), campaignId, PageRequest.From(page, limit), ct))).RequireRole(Role.Viewer).WithTags("Delivery");
    }
}
