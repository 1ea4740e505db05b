using System.Text.Json;
using Herald.Audit;
using Herald.Auth;
using Herald.Common;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;

namespace Herald.Audience;

/// <summary>Saved segments (a name and a filter): the one place the API and the dashboard create, change and delete them.</summary>
public sealed class SegmentService(HeraldDb db, AuditLog audit, TimeProvider clock)
{
    public async Task<Paged<SegmentDto>> ListAsync(Caller caller, PageRequest page, CancellationToken ct)
    {
        var q = db.Set<Segment>().AsNoTracking().Where(s => s.WorkspaceId == caller.WorkspaceId);
        var total = await q.LongCountAsync(ct);
        var rows = await q.OrderByDescending(s => s.Id).Skip(page.Skip).Take(page.Limit).ToListAsync(ct);
        return new Paged<SegmentDto>(rows.Select(SegmentDto.From).ToList(), total, page.Page, page.Limit);
    }

    public async Task<SegmentDto> GetAsync(Caller caller, long id, CancellationToken ct) =>
        SegmentDto.From(await AudienceApi.FindSegmentAsync(db, caller, id, ct));

    public async Task<SegmentDto> CreateAsync(Caller caller, SegmentInput input, CancellationToken ct)
    {
        var (name, filter) = Validate(input);
        var now = clock.GetUtcNow().UtcDateTime;
        var s = new Segment { WorkspaceId = caller.WorkspaceId, Name = name, Filter = filter, CreatedAt = now, UpdatedAt = now };
        db.Add(s);
        await db.SaveChangesAsync(ct);
        audit.Record(caller, "segment.create", "segment", s.Id);
        await db.SaveChangesAsync(ct);
        return SegmentDto.From(s);
    }

    public async Task<SegmentDto> UpdateAsync(Caller caller, long id, SegmentInput input, CancellationToken ct)
    {
        var s = await AudienceApi.FindSegmentAsync(db, caller, id, ct);
        var (name, filter) = Validate(input);
        s.Name = name;
        s.Filter = filter;
        s.UpdatedAt = clock.GetUtcNow().UtcDateTime;
        audit.Record(caller, "segment.update", "segment", s.Id);
        await db.SaveChangesAsync(ct);
        return SegmentDto.From(s);
    }

    public async Task DeleteAsync(Caller caller, long id, CancellationToken ct)
    {
        var s = await AudienceApi.FindSegmentAsync(db, caller, id, ct);
        db.Remove(s);
        audit.Record(caller, "segment.delete", "segment", s.Id);
        await db.SaveChangesAsync(ct);
    }

    private static (string Name, string Filter) Validate(SegmentInput input)
    {
        var v = new Validation();
        if (string.IsNullOrWhiteSpace(input.Name)) v.Add("name", "The name is required.");
        else if (input.Name.Trim().Length > 200) v.Add("name", "At most 200 characters.");
        if (input.Filter is not { ValueKind: JsonValueKind.Object } f) v.Add("filter", "The filter is required (an object).");
        else FilterCompiler.Parse(f, "filter", v);
        v.ThrowIfInvalid();
        return (input.Name!.Trim(), input.Filter!.Value.GetRawText());
    }
}
