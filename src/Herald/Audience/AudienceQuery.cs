using System.Data.Common;
using System.Text.Json;
using Herald.Auth;
using Herald.Common;
using Herald.Contacts;
using Herald.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Herald.Audience;

/// <summary>
/// Compiles an <see cref="AudienceDefinition"/> to one <c>SELECT c.id FROM contact c WHERE ...</c>:
/// includes (segments, lists, contact ids, filter, all) are ORed, excluded segments are ANDed NOT.
/// One statement with no ids materialized in C#, so run start embeds it in <c>INSERT ... SELECT</c>
/// and preview counts it in the database.
/// </summary>
public sealed class AudienceQuery(HeraldDb db, TimeProvider clock) : IAudienceQuery
{
    public const int MaxContactIds = 100_000;

    public async Task<Validation> ValidateAsync(long workspaceId, AudienceDefinition audience, CancellationToken ct)
    {
        var v = new Validation();
        if (audience.Filter is { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) } f) FilterCompiler.Parse(f, "filter", v);
        if (audience.ContactIds is { Count: > MaxContactIds }) v.Add("contactIds", $"At most {MaxContactIds} contact ids; use a list for more.");
        await CheckIdsAsync(db.Set<Segment>().Where(s => s.WorkspaceId == workspaceId).Select(s => s.Id), audience.SegmentIds, "segmentIds", "segment", v, ct);
        await CheckIdsAsync(db.Set<Segment>().Where(s => s.WorkspaceId == workspaceId).Select(s => s.Id), audience.ExcludeSegmentIds, "excludeSegmentIds", "segment", v, ct);
        await CheckIdsAsync(db.Set<ContactList>().Where(s => s.WorkspaceId == workspaceId).Select(s => s.Id), audience.ListIds, "listIds", "list", v, ct);
        if (audience.Recipients is { } rs)
            for (var i = 0; i < rs.Count; i++)
                if (string.IsNullOrWhiteSpace(rs[i].Email) && string.IsNullOrWhiteSpace(rs[i].Phone))
                    v.Add($"recipients[{i}]", "A recipient needs an email or a phone.");
        if (audience.IsEmpty) v.Add("audience", "Choose who receives it: segmentIds, listIds, contactIds, filter, recipients or all.");
        return v;
    }

    private static async Task CheckIdsAsync(IQueryable<long> existing, List<long>? ids, string field, string what, Validation v, CancellationToken ct)
    {
        if (ids is not { Count: > 0 }) return;
        var distinct = ids.Distinct().ToList();
        var found = await existing.Where(id => distinct.Contains(id)).ToListAsync(ct);
        foreach (var missing in distinct.Except(found)) v.Add(field, $"There is no {what} {missing}.");
    }

    public async Task<SqlFragment> CompileAsync(long workspaceId, AudienceDefinition audience, CancellationToken ct)
    {
        var v = await ValidateAsync(workspaceId, audience, ct);
        // Recipients are turned into contactIds at save time (ResolveRecipientsAsync); their absence here is not an error.
        if (audience.Recipients is { Count: > 0 } && AudienceWithout(audience).IsEmpty) v = Without(v, "audience");
        v.ThrowIfInvalid();

        var p = new SqlParams(db.IsPostgres, clock.GetUtcNow().UtcDateTime);
        var ws = p.Add(workspaceId);
        var includes = new List<string>();
        if (audience.All == true) includes.Add("1=1");
        if (audience.Filter is { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) } f)
            includes.Add(FilterCompiler.Emit(FilterCompiler.ParseOrThrow(f), p));
        foreach (var filter in await SegmentFiltersAsync(workspaceId, audience.SegmentIds, ct))
            includes.Add(FilterCompiler.Emit(filter, p));
        if (audience.ListIds is { Count: > 0 } lists)
            includes.Add($"EXISTS (SELECT 1 FROM contact_list_member m WHERE m.contact_id = c.id AND m.list_id {InList(lists, p)})");
        if (audience.ContactIds is { Count: > 0 } ids)
            includes.Add($"c.id {InList(ids, p)}");

        var sql = $"SELECT c.id FROM contact c WHERE c.workspace_id = {ws} AND c.deleted_at IS NULL AND ({(includes.Count == 0 ? "1=0" : string.Join(" OR ", includes))})";
        foreach (var filter in await SegmentFiltersAsync(workspaceId, audience.ExcludeSegmentIds, ct))
            sql += $" AND NOT COALESCE({FilterCompiler.Emit(filter, p)}, FALSE)";
        return new SqlFragment(sql, p.Values);
    }

    private static AudienceDefinition AudienceWithout(AudienceDefinition a) => new()
    {
        SegmentIds = a.SegmentIds, ListIds = a.ListIds, ContactIds = a.ContactIds, Filter = a.Filter, All = a.All,
    };

    private static Validation Without(Validation v, string field)
    {
        var copy = new Validation();
        foreach (var (k, msgs) in v.ToDictionary())
            if (k != field) foreach (var m in msgs) copy.Add(k, m);
        return copy;
    }

    private static string InList(List<long> ids, SqlParams p) => p.IsPostgres
        ? $"= ANY({p.Add(ids.Distinct().ToArray())})"
        : $"IN (SELECT value FROM json_each({p.Add(JsonSerializer.Serialize(ids.Distinct()))}))";

    private async Task<List<FilterNode>> SegmentFiltersAsync(long workspaceId, List<long>? ids, CancellationToken ct)
    {
        if (ids is not { Count: > 0 }) return [];
        var rows = await db.Set<Segment>().AsNoTracking().Where(s => s.WorkspaceId == workspaceId && ids.Contains(s.Id)).ToListAsync(ct);
        return rows.Select(s =>
        {
            using var doc = JsonDocument.Parse(s.Filter);
            return FilterCompiler.ParseOrThrow(doc.RootElement.Clone(), $"segment {s.Id}.filter");
        }).ToList();
    }

    /// <summary>Provider parameters for a fragment (EF FromSqlRaw or an ADO command).</summary>
    public static DbParameter[] ToDbParameters(HeraldDb db, SqlFragment fragment) =>
        fragment.Parameters.Select(kv => db.IsPostgres
            ? (DbParameter)new NpgsqlParameter(kv.Key.TrimStart('@'), kv.Value ?? DBNull.Value)
            : new SqliteParameter(kv.Key, kv.Value ?? DBNull.Value)).ToArray();

    /// <summary>Contacts of a fragment as an EF query (composable: callers add Where/OrderBy/paging).</summary>
    public static IQueryable<Contact> Contacts(HeraldDb db, SqlFragment fragment) =>
#pragma warning disable EF1002 // The fragment is compiled SQL whose values are all parameters.
        db.Contacts.FromSqlRaw($"SELECT * FROM contact WHERE id IN ({fragment.Sql})", ToDbParameters(db, fragment));
#pragma warning restore EF1002
}

/// <summary>Turns ad-hoc <c>recipients</c> into contacts (upserted, deduplicated by phone and email).</summary>
public sealed class AudienceRecipients(ContactService contacts)
{
    /// <summary>
    /// Upserts the recipients and returns their contact ids (campaigns call this at save time and
    /// store the ids in <see cref="AudienceDefinition.ContactIds"/>). Invalid recipients answer 400
    /// naming <c>recipients[i].field</c>.
    /// </summary>
    public async Task<List<long>> ResolveAsync(Caller caller, IReadOnlyList<AdHocRecipient> recipients, CancellationToken ct)
    {
        if (recipients.Count == 0) return [];
        var inputs = recipients.Select(r => new ContactInput
        {
            Name = r.Name, Email = string.IsNullOrWhiteSpace(r.Email) ? null : r.Email,
            Phone = string.IsNullOrWhiteSpace(r.Phone) ? null : r.Phone,
        }).ToList();
        var v = new Validation();
        for (var i = 0; i < inputs.Count; i++)
            if (inputs[i].Email is null && inputs[i].Phone is null) v.Add($"recipients[{i}]", "A recipient needs an email or a phone.");
        v.ThrowIfInvalid();
        var ids = new List<long>();
        foreach (var chunk in inputs.Chunk(ContactService.MaxBulk))
        {
            var result = await contacts.BulkUpsertAsync(caller, chunk, ct);
            foreach (var r in result.Results)
            {
                if (r.Errors is { } errs)
                    foreach (var (field, msgs) in errs)
                        foreach (var m in msgs) v.Add($"recipients[{ids.Count + r.Index}].{field}", m);
            }
            v.ThrowIfInvalid();
            ids.AddRange(result.Results.Select(r => long.Parse(r.Id!, System.Globalization.CultureInfo.InvariantCulture)));
        }
        return ids.Distinct().ToList();
    }

    /// <summary>Returns a copy of <paramref name="audience"/> whose recipients are now contactIds.</summary>
    public async Task<AudienceDefinition> MaterializeAsync(Caller caller, AudienceDefinition audience, CancellationToken ct)
    {
        if (audience.Recipients is not { Count: > 0 } rs) return audience;
        var ids = await ResolveAsync(caller, rs, ct);
        return new AudienceDefinition
        {
            SegmentIds = audience.SegmentIds, ListIds = audience.ListIds, Filter = audience.Filter, All = audience.All,
            ExcludeSegmentIds = audience.ExcludeSegmentIds,
            ContactIds = [.. (audience.ContactIds ?? []).Concat(ids).Distinct()],
        };
    }
}
