using System.Text.Json;
using System.Text.Json.Nodes;
using Herald.Audience;
using Herald.Common;
using Herald.Contacts;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;

namespace Herald.Journeys;

/// <summary>
/// Puts contacts into a journey with one set-based INSERT ... SELECT that applies the re-entry
/// policy in SQL, so a bulk upsert of 10,000 contacts is one statement per journey, not 10,000.
/// </summary>
public sealed class JourneyEnroller(HeraldDb db, TimeProvider clock, JourneySignal signal)
{
    /// <summary>
    /// JourneyEnrollInsert. The entry number is MAX(entry)+1 per contact (the unique index on
    /// (journey_id, contact_id, entry) makes two racing triggers enroll once: the loser's row
    /// conflicts and ON CONFLICT DO NOTHING drops it). The re-entry policy is a NOT EXISTS on the
    /// same index. Returns how many contacts entered.
    /// </summary>
    public async Task<int> EnrollAsync(Journey journey, string firstStepId, IReadOnlyCollection<long> contactIds, CancellationToken ct)
    {
        if (contactIds.Count == 0) return 0;
        var now = clock.GetUtcNow().UtcDateTime;
        var policy = journey.Reentry switch
        {
            ReentryPolicy.Always => "",
            ReentryPolicy.AfterExit => "AND NOT EXISTS (SELECT 1 FROM journey_enrollment e WHERE e.journey_id = @j AND e.contact_id = c.id AND e.state IN ('active','waiting'))",
            _ => "AND NOT EXISTS (SELECT 1 FROM journey_enrollment e WHERE e.journey_id = @j AND e.contact_id = c.id)",
        };
        var total = 0;
        foreach (var chunk in contactIds.Distinct().Chunk(10_000))
        {
            var sql = $"""
                INSERT INTO journey_enrollment (workspace_id, journey_id, version, contact_id, entry, step_id, state, next_action_at, attempts, history, entered_at)
                SELECT c.workspace_id, @j, @v, c.id,
                       COALESCE((SELECT MAX(e.entry) FROM journey_enrollment e WHERE e.journey_id = @j AND e.contact_id = c.id), 0) + 1,
                       @step, 'active', @now, 0, '[]', @now
                FROM contact c
                WHERE c.workspace_id = @ws AND c.deleted_at IS NULL AND {JourneySql.InIds(db, "c.id", "ids")} {policy}
                ON CONFLICT DO NOTHING
                """;
            total += await JourneySql.ExecuteAsync(db, sql, ct,
                ("j", journey.Id), ("v", journey.Version), ("step", firstStepId), ("now", now), ("ws", journey.WorkspaceId),
                ("ids", JourneySql.IdList(db, chunk)));
        }
        if (total > 0) signal.Notify();
        return total;
    }

    /// <summary>Wakes the engine (a journey was activated: its date sweep and enrollments are due).</summary>
    public void Wake() => signal.Notify();

    /// <summary>JourneyExitOnEvent: exits the unfinished enrollments of these contacts in these journeys.</summary>
    public async Task<int> ExitAsync(IReadOnlyCollection<long> journeyIds, IReadOnlyCollection<long> contactIds, string reason, CancellationToken ct)
    {
        if (journeyIds.Count == 0 || contactIds.Count == 0) return 0;
        var now = clock.GetUtcNow().UtcDateTime;
        var history = JsonSerializer.Serialize(new { step = (string?)null, type = "exit_event", at = now, outcome = reason }, HeraldJson.Options);
        var append = db.IsPostgres ? "history || jsonb_build_array(CAST(@h AS jsonb))" : "json_insert(history, '$[#]', json(@h))";
        return await JourneySql.ExecuteAsync(db, $"""
            UPDATE journey_enrollment SET state = 'exited', exited_at = @now, next_action_at = NULL, lease_owner = NULL, lease_until = NULL,
                   history = {append}
            WHERE {JourneySql.InIds(db, "journey_id", "js")} AND {JourneySql.InIds(db, "contact_id", "cs")} AND state IN ('active','waiting')
            """, ct, ("now", now), ("h", history), ("js", JourneySql.IdList(db, journeyIds)), ("cs", JourneySql.IdList(db, contactIds)));
    }
}

/// <summary>
/// Turns contact changes into enrollments (contact_created, event, tag_added, segment_entered)
/// and exit events into exits. ContactService calls it after saving, for the API, bulk upserts and imports.
/// </summary>
public sealed class JourneyTriggers(HeraldDb db, JourneyEnroller enroller, IServiceProvider services, ILogger<JourneyTriggers> log) : IContactObserver
{
    public async Task ContactsCreatedAsync(long workspaceId, IReadOnlyList<long> contactIds, CancellationToken ct)
    {
        foreach (var j in await ActiveAsync(workspaceId, [TriggerTypes.ContactCreated, TriggerTypes.SegmentEntered], ct))
        {
            if (j.TriggerType == TriggerTypes.ContactCreated) await EnrollAsync(j, contactIds, ct);
            else await EnrollInSegmentAsync(j, contactIds, ct);
        }
    }

    public async Task ContactsUpdatedAsync(long workspaceId, IReadOnlyList<ContactChange> changes, CancellationToken ct)
    {
        if (changes.Count == 0) return;
        foreach (var j in await ActiveAsync(workspaceId, [TriggerTypes.TagAdded, TriggerTypes.SegmentEntered], ct))
        {
            if (j.TriggerType == TriggerTypes.TagAdded)
            {
                var tag = Trigger(j).Tag?.Trim().ToLowerInvariant();
                if (tag is null) continue;
                var tagged = changes.Where(c => c.AddedTags.Any(t => string.Equals(t, tag, StringComparison.OrdinalIgnoreCase))).Select(c => c.ContactId).ToList();
                if (tagged.Count > 0) await EnrollAsync(j, tagged, ct);
            }
            else await EnrollInSegmentAsync(j, changes.Select(c => c.ContactId).ToList(), ct);
        }
    }

    public async Task EventsRecordedAsync(long workspaceId, IReadOnlyList<ContactEvent> events, CancellationToken ct)
    {
        if (events.Count == 0) return;
        var journeys = await db.Set<Journey>().AsNoTracking()
            .Where(j => j.WorkspaceId == workspaceId && j.Status == JourneyStatus.Active).ToListAsync(ct);
        // Exits first: an order that also triggers another journey must not be read as still "in" this one.
        foreach (var group in journeys.Where(j => j.ExitOn.Count > 0).GroupBy(j => string.Join(',', j.ExitOn)))
        {
            var types = group.First().ExitOn.ToHashSet(StringComparer.Ordinal);
            var contacts = events.Where(e => types.Contains(e.Type)).Select(e => e.ContactId).Distinct().ToList();
            await enroller.ExitAsync(group.Select(j => j.Id).ToList(), contacts, "exit_on:" + string.Join(',', types), ct);
        }
        foreach (var j in journeys.Where(j => j.TriggerType == TriggerTypes.Event))
        {
            var t = Trigger(j);
            var contacts = events.Where(e => e.Type == t.EventType && PropertiesMatch(t.Properties, e.Properties))
                .Select(e => e.ContactId).Distinct().ToList();
            await EnrollAsync(j, contacts, ct);
        }
    }

    private async Task<List<Journey>> ActiveAsync(long workspaceId, string[] types, CancellationToken ct) =>
        await db.Set<Journey>().AsNoTracking()
            .Where(j => j.WorkspaceId == workspaceId && j.Status == JourneyStatus.Active && types.Contains(j.TriggerType))
            .ToListAsync(ct);

    private async Task EnrollAsync(Journey j, IReadOnlyCollection<long> contactIds, CancellationToken ct)
    {
        var first = JourneyPlan.Parse(j.Steps).FirstStepId;
        if (first is not null) await enroller.EnrollAsync(j, first, contactIds, ct);
    }

    /// <summary>
    /// segment_entered: evaluates the segment only for the changed contacts
    /// (<c>SELECT s.id FROM (&lt;segment&gt;) s WHERE s.id IN ids</c>), never by rescanning all contacts.
    /// </summary>
    private async Task EnrollInSegmentAsync(Journey j, IReadOnlyCollection<long> contactIds, CancellationToken ct)
    {
        var audience = services.GetService<IAudienceQuery>();
        if (audience is null || !long.TryParse(Trigger(j).SegmentId, out var segmentId))
        {
            log.LogWarning("Journey {JourneyId} has a segment_entered trigger but no audience feature is registered.", j.Id);
            return;
        }
        var fragment = await audience.CompileAsync(j.WorkspaceId, new AudienceDefinition { SegmentIds = [segmentId] }, ct);
        var ps = fragment.Parameters.Append(KeyValuePair.Create("jids", (object?)JourneySql.IdList(db, contactIds)));
        var inSegment = await JourneySql.QueryAsync(db, $"SELECT s.id FROM ({fragment.Sql}) s WHERE {JourneySql.InIds(db, "s.id", "jids")}",
            ps, r => r.GetInt64(0), ct);
        await EnrollAsync(j, inSegment, ct);
    }

    private static TriggerDef Trigger(Journey j) => JsonSerializer.Deserialize<TriggerDef>(j.Trigger, HeraldJson.Options) ?? new TriggerDef();

    /// <summary>Every property the trigger names must equal the event's (JSON equality).</summary>
    public static bool PropertiesMatch(JsonObject? wanted, string? actualJson)
    {
        if (wanted is null || wanted.Count == 0) return true;
        if (string.IsNullOrEmpty(actualJson) || JsonNode.Parse(actualJson) is not JsonObject actual) return false;
        foreach (var (key, value) in wanted)
            if (!actual.TryGetPropertyValue(key, out var a) || !JsonNode.DeepEquals(a, value)) return false;
        return true;
    }
}
