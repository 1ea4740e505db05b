using System.Text.Json;
using Herald.Auth;
using Herald.Common;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;

namespace Herald.Audit;

/// <summary>
/// Writes audit entries into the same unit of work as the change they describe, so an entry exists
/// exactly when its change was saved. Every state-changing endpoint calls <see cref="Record"/>.
/// </summary>
public sealed class AuditLog(HeraldDb db, TimeProvider clock)
{
    public void Record(Caller caller, string action, string targetType, object? targetId, object? details = null) =>
        db.AuditLog.Add(new AuditEntry
        {
            WorkspaceId = caller.WorkspaceId,
            Actor = caller.Actor,
            Action = action,
            TargetType = targetType,
            TargetId = targetId?.ToString(),
            Details = details is null ? null : JsonSerializer.Serialize(details, HeraldJson.Options),
            At = clock.GetUtcNow().UtcDateTime,
        });
}

public sealed record AuditEntryDto(string Id, string Actor, string Action, string TargetType, string? TargetId, JsonElement? Details, DateTime At);

internal static class AuditApi
{
    public static void MapAuditApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/audit", async (HttpContext http, HeraldDb db, string? targetType, string? targetId, string? action, int? page, int? limit, CancellationToken ct) =>
        {
            var caller = http.Current();
            var p = PageRequest.From(page, limit);
            var q = db.AuditLog.AsNoTracking().Where(a => a.WorkspaceId == caller.WorkspaceId);
            if (!string.IsNullOrEmpty(targetType)) q = q.Where(a => a.TargetType == targetType);
            if (!string.IsNullOrEmpty(targetId)) q = q.Where(a => a.TargetId == targetId);
            if (!string.IsNullOrEmpty(action)) q = q.Where(a => a.Action == action);
            var total = await q.LongCountAsync(ct);
            var rows = await q.OrderByDescending(a => a.Id).Skip(p.Skip).Take(p.Limit).ToListAsync(ct);
            var items = rows.Select(a => new AuditEntryDto(a.Id.ToString(), a.Actor, a.Action, a.TargetType, a.TargetId,
                a.Details is null ? null : JsonDocument.Parse(a.Details).RootElement, a.At)).ToList();
            return TypedResults.Ok(new Paged<AuditEntryDto>(items, total, p.Page, p.Limit));
        }).RequireRole(Role.Viewer).WithTags("Workspace");
    }
}
