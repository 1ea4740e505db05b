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

/// <summary>Filters for reading the audit log; empty values match everything.</summary>
public sealed record AuditFilter(string? TargetType = null, string? TargetId = null, string? Action = null);

/// <summary>Reads a workspace's audit log, newest first (the API and the dashboard both list through here).</summary>
public sealed class AuditReader(HeraldDb db)
{
    public async Task<Paged<AuditEntryDto>> SearchAsync(Caller caller, AuditFilter filter, PageRequest page, CancellationToken ct)
    {
        var q = db.AuditLog.AsNoTracking().Where(a => a.WorkspaceId == caller.WorkspaceId);
        if (!string.IsNullOrEmpty(filter.TargetType)) q = q.Where(a => a.TargetType == filter.TargetType);
        if (!string.IsNullOrEmpty(filter.TargetId)) q = q.Where(a => a.TargetId == filter.TargetId);
        if (!string.IsNullOrEmpty(filter.Action)) q = q.Where(a => a.Action == filter.Action);
        var total = await q.LongCountAsync(ct);
        var rows = await q.OrderByDescending(a => a.Id).Skip(page.Skip).Take(page.Limit).ToListAsync(ct);
        var items = rows.Select(a => new AuditEntryDto(a.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), a.Actor, a.Action, a.TargetType, a.TargetId,
            a.Details is null ? null : JsonDocument.Parse(a.Details).RootElement, a.At)).ToList();
        return new Paged<AuditEntryDto>(items, total, page.Page, page.Limit);
    }
}

internal static class AuditApi
{
    public static void MapAuditApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/audit", async (HttpContext http, AuditReader reader, string? targetType, string? targetId, string? action, int? page, int? limit, CancellationToken ct) =>
            TypedResults.Ok(await reader.SearchAsync(http.Current(), new AuditFilter(targetType, targetId, action), PageRequest.From(page, limit), ct)))
            .RequireRole(Role.Viewer).WithTags("Workspace");
    }
}
