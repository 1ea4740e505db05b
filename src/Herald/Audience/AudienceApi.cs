using System.Globalization;
using System.Text.Json;
using Herald.Audit;
using Herald.Auth;
using Herald.Common;
using Herald.Contacts;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;

namespace Herald.Audience;

public sealed class SegmentInput
{
    public string? Name { get; set; }
    public JsonElement? Filter { get; set; }
}

public sealed record SegmentDto(string Id, string Name, JsonElement Filter, DateTime CreatedAt, DateTime UpdatedAt)
{
    public static SegmentDto From(Segment s) => new(s.Id.ToString(CultureInfo.InvariantCulture), s.Name,
        JsonDocument.Parse(s.Filter).RootElement.Clone(), s.CreatedAt, s.UpdatedAt);
}

public sealed class ListInput
{
    public string? Name { get; set; }
    public string? Description { get; set; }
}

public sealed record ListDto(string Id, string Name, string? Description, long Members, DateTime CreatedAt, DateTime UpdatedAt);

public sealed class MembersInput
{
    public List<long>? ContactIds { get; set; }
}

public sealed class PreviewInput
{
    public AudienceDefinition? Audience { get; set; }
}

public sealed record PreviewDto(long Count, IReadOnlyList<ContactDto> Sample);

/// <summary>/api/v1/segments, /api/v1/lists and /api/v1/audience/preview.</summary>
public static class AudienceApi
{
    public const int MaxMembersPerCall = 10_000;

    public static void MapAudienceApi(this IEndpointRouteBuilder app)
    {
        MapSegments(app.MapGroup("/api/v1/segments").WithTags("Audience"));
        MapLists(app.MapGroup("/api/v1/lists").WithTags("Audience"));
        app.MapPost("/api/v1/audience/preview", async (HttpContext http, PreviewInput input, AudienceService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.PreviewAsync(http.Current(), input.Audience ?? throw ValidationFailedException.For("audience", "The audience is required."), ct)))
            .RequireRole(Role.Viewer).WithTags("Audience");
        app.MapImportsApi();
    }

    private static void MapSegments(RouteGroupBuilder g)
    {
        g.MapPost("/", async (HttpContext http, SegmentInput input, SegmentService svc, CancellationToken ct) =>
        {
            var s = await svc.CreateAsync(http.Current(), input, ct);
            return TypedResults.Created($"/api/v1/segments/{s.Id}", s);
        }).RequireRole(Role.Editor);

        g.MapGet("/", async (HttpContext http, int? page, int? limit, SegmentService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.ListAsync(http.Current(), PageRequest.From(page, limit), ct))).RequireRole(Role.Viewer);

        g.MapGet("/{id:long}", async (HttpContext http, long id, SegmentService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.GetAsync(http.Current(), id, ct))).RequireRole(Role.Viewer);

        g.MapPut("/{id:long}", async (HttpContext http, long id, SegmentInput input, SegmentService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.UpdateAsync(http.Current(), id, input, ct))).RequireRole(Role.Editor);

        g.MapDelete("/{id:long}", async (HttpContext http, long id, SegmentService svc, CancellationToken ct) =>
        {
            await svc.DeleteAsync(http.Current(), id, ct);
            return TypedResults.NoContent();
        }).RequireRole(Role.Editor);
    }

    internal static async Task<Segment> FindSegmentAsync(HeraldDb db, Caller caller, long id, CancellationToken ct) =>
        await db.Set<Segment>().FirstOrDefaultAsync(s => s.Id == id && s.WorkspaceId == caller.WorkspaceId, ct)
        ?? throw new NotFoundException($"Segment {id}");

    internal static async Task<ContactList> FindListAsync(HeraldDb db, Caller caller, long id, CancellationToken ct) =>
        await db.Set<ContactList>().FirstOrDefaultAsync(s => s.Id == id && s.WorkspaceId == caller.WorkspaceId, ct)
        ?? throw new NotFoundException($"List {id}");

    private static void MapLists(RouteGroupBuilder g)
    {
        g.MapPost("/", async (HttpContext http, ListInput input, HeraldDb db, AuditLog audit, TimeProvider clock, CancellationToken ct) =>
        {
            var caller = http.Current();
            var v = new Validation();
            if (string.IsNullOrWhiteSpace(input.Name)) v.Add("name", "The name is required.");
            else if (input.Name.Trim().Length > 200) v.Add("name", "At most 200 characters.");
            if (input.Description is { Length: > 2000 }) v.Add("description", "At most 2000 characters.");
            v.ThrowIfInvalid();
            var now = clock.GetUtcNow().UtcDateTime;
            var l = new ContactList { WorkspaceId = caller.WorkspaceId, Name = input.Name!.Trim(), Description = input.Description, CreatedAt = now, UpdatedAt = now };
            db.Add(l);
            await db.SaveChangesAsync(ct);
            audit.Record(caller, "list.create", "list", l.Id);
            await db.SaveChangesAsync(ct);
            return TypedResults.Created($"/api/v1/lists/{l.Id}", new ListDto(l.Id.ToString(CultureInfo.InvariantCulture), l.Name, l.Description, 0, l.CreatedAt, l.UpdatedAt));
        }).RequireRole(Role.Editor);

        g.MapGet("/", async (HttpContext http, int? page, int? limit, HeraldDb db, CancellationToken ct) =>
        {
            var caller = http.Current();
            var pr = PageRequest.From(page, limit);
            var q = db.Set<ContactList>().AsNoTracking().Where(s => s.WorkspaceId == caller.WorkspaceId);
            var total = await q.LongCountAsync(ct);
            var rows = await q.OrderByDescending(s => s.Id).Skip(pr.Skip).Take(pr.Limit)
                .Select(l => new { l, Members = db.Set<ContactListMember>().LongCount(m => m.ListId == l.Id) }).ToListAsync(ct);
            return TypedResults.Ok(new Paged<ListDto>(rows.Select(r => new ListDto(r.l.Id.ToString(CultureInfo.InvariantCulture), r.l.Name, r.l.Description, r.Members, r.l.CreatedAt, r.l.UpdatedAt)).ToList(), total, pr.Page, pr.Limit));
        }).RequireRole(Role.Viewer);

        g.MapPost("/{id:long}/members", async (HttpContext http, long id, MembersInput input, AudienceService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.AddMembersAsync(http.Current(), id, input.ContactIds, ct))).RequireRole(Role.Editor);

        g.MapGet("/{id:long}/members", async (HttpContext http, long id, int? page, int? limit, HeraldDb db, ContactService contacts, CancellationToken ct) =>
        {
            var caller = http.Current();
            await FindListAsync(db, caller, id, ct);
            var scope = db.Contacts.Where(c => db.Set<ContactListMember>().Any(m => m.ListId == id && m.ContactId == c.Id));
            return TypedResults.Ok(await contacts.SearchAsync(caller, null, null, PageRequest.From(page, limit), scope, ct));
        }).RequireRole(Role.Viewer);

        g.MapDelete("/{id:long}/members", async (HttpContext http, long id, [Microsoft.AspNetCore.Mvc.FromBody] MembersInput input, AudienceService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.RemoveMembersAsync(http.Current(), id, input.ContactIds, ct))).RequireRole(Role.Editor);
    }
}

public sealed record MembersResult(int Added, int Removed, int Ignored);

/// <summary>Preview, list membership and the contact scope behind GET /contacts?segmentId=&amp;listId=.</summary>
public sealed class AudienceService(HeraldDb db, IAudienceQuery query, AuditLog audit, TimeProvider clock) : ContactsApi.IContactScope
{
    /// <summary>Count and a 10-contact sample. Recipients are not created by a preview; they are counted as given.</summary>
    public async Task<PreviewDto> PreviewAsync(Caller caller, AudienceDefinition audience, CancellationToken ct)
    {
        var fragment = await query.CompileAsync(caller.WorkspaceId, audience, ct);
        var count = await CountAsync(fragment, ct);
        var sample = await AudienceQuery.Contacts(db, fragment).AsNoTracking().OrderByDescending(c => c.Id).Take(10).ToListAsync(ct);
        var now = clock.GetUtcNow().UtcDateTime;
        return new PreviewDto(count, sample.Select(c => ContactDto.From(c, now)).ToList());
    }

    /// <summary>AudienceCount: counted in the database over the compiled SELECT.</summary>
    public async Task<long> CountAsync(SqlFragment fragment, CancellationToken ct)
    {
        var conn = db.Database.GetDbConnection();
        if (conn.State != System.Data.ConnectionState.Open) await db.Database.OpenConnectionAsync(ct);
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = $"SELECT COUNT(*) FROM ({fragment.Sql}) x";
        cmd.Parameters.AddRange(AudienceQuery.ToDbParameters(db, fragment));
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
    }

    public async Task<MembersResult> AddMembersAsync(Caller caller, long listId, List<long>? ids, CancellationToken ct)
    {
        var list = await AudienceApi.FindListAsync(db, caller, listId, ct);
        var wanted = CheckIds(ids);
        var valid = new List<long>();
        foreach (var chunk in wanted.Chunk(1000))
            valid.AddRange(await db.Contacts.Where(c => c.WorkspaceId == caller.WorkspaceId && c.DeletedAt == null && chunk.Contains(c.Id)).Select(c => c.Id).ToListAsync(ct));
        var present = new HashSet<long>();
        foreach (var chunk in valid.Chunk(1000))
            present.UnionWith(await db.Set<ContactListMember>().Where(m => m.ListId == listId && chunk.Contains(m.ContactId)).Select(m => m.ContactId).ToListAsync(ct));
        var now = clock.GetUtcNow().UtcDateTime;
        var added = valid.Where(id => !present.Contains(id)).ToList();
        db.AddRange(added.Select(id => new ContactListMember { ListId = listId, ContactId = id, AddedAt = now }));
        list.UpdatedAt = now;
        audit.Record(caller, "list.members_add", "list", listId, new { added = added.Count });
        await db.SaveChangesAsync(ct);
        return new MembersResult(added.Count, 0, wanted.Count - added.Count);
    }

    public async Task<MembersResult> RemoveMembersAsync(Caller caller, long listId, List<long>? ids, CancellationToken ct)
    {
        var list = await AudienceApi.FindListAsync(db, caller, listId, ct);
        var wanted = CheckIds(ids);
        var removed = 0;
        foreach (var chunk in wanted.Chunk(1000))
            removed += await db.Set<ContactListMember>().Where(m => m.ListId == listId && chunk.Contains(m.ContactId)).ExecuteDeleteAsync(ct);
        list.UpdatedAt = clock.GetUtcNow().UtcDateTime;
        audit.Record(caller, "list.members_remove", "list", listId, new { removed });
        await db.SaveChangesAsync(ct);
        return new MembersResult(0, removed, wanted.Count - removed);
    }

    private static List<long> CheckIds(List<long>? ids)
    {
        if (ids is not { Count: > 0 }) throw ValidationFailedException.For("contactIds", "Give at least one contact id.");
        if (ids.Count > AudienceApi.MaxMembersPerCall) throw ValidationFailedException.For("contactIds", $"At most {AudienceApi.MaxMembersPerCall} per call.");
        return ids.Distinct().ToList();
    }

    public async Task<IQueryable<Contact>?> ScopeAsync(Caller caller, long? segmentId, long? listId, CancellationToken ct)
    {
        var audience = new AudienceDefinition();
        if (segmentId is { } s)
        {
            await AudienceApi.FindSegmentAsync(db, caller, s, ct);
            audience.SegmentIds = [s];
        }
        if (listId is { } l)
        {
            await AudienceApi.FindListAsync(db, caller, l, ct);
            if (segmentId is null) audience.ListIds = [l];
        }
        var fragment = await query.CompileAsync(caller.WorkspaceId, audience, ct);
        IQueryable<Contact> q = AudienceQuery.Contacts(db, fragment);
        // Both given: members of the list that also match the segment.
        if (segmentId is not null && listId is { } both)
            q = q.Where(c => db.Set<ContactListMember>().Any(m => m.ListId == both && m.ContactId == c.Id));
        return q;
    }
}
