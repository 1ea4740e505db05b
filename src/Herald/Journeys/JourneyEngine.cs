using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Herald.Audience;
using Herald.Common;
using Herald.Contacts;
using Herald.Delivery;
using Herald.Storage;
using Herald.Workspaces;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Herald.Journeys;

/// <summary>Journey engine settings, section <c>Herald:Journeys</c>.</summary>
public sealed class JourneyEngineOptions
{
    public const string Section = "Herald:Journeys";

    /// <summary>Enrollments claimed per statement. Default 200.</summary>
    [Range(1, 10_000)] public int BatchSize { get; set; } = 200;
    /// <summary>How long a claim holds an enrollment before another node may take it over. Default 1 minute.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")] public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(1);
    /// <summary>Attempts of one step before the enrollment fails. Default 3.</summary>
    [Range(1, 100)] public int MaxAttempts { get; set; } = 3;
    /// <summary>Retry delay base: base * 2^(attempt-1). Default 10 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")] public TimeSpan RetryBase { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>Longest sleep when nothing is due, a safety net for work added by other nodes. Default 30 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")] public TimeSpan MaxIdle { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>Steps executed back to back for one enrollment in one claim (send, branch, send ...). Default 20.</summary>
    [Range(1, 200)] public int MaxChain { get; set; } = 20;
    /// <summary>Completed step logs older than this are deleted; failed ones are kept. Default 30 days.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")] public TimeSpan CompletedLogRetention { get; set; } = TimeSpan.FromDays(30);
    /// <summary>This node's lease owner name. Default: machine name plus a random suffix.</summary>
    public string NodeId { get; set; } = $"{Environment.MachineName}-{Guid.NewGuid():N}"[..Math.Min(100, Environment.MachineName.Length + 33)];
}

/// <summary>What one <see cref="JourneyEngine.RunOnceAsync"/> did.</summary>
public sealed record JourneyRunResult(int Claimed, int StepsExecuted, int StepsFailed, int Enrolled, int LogsDeleted, DateTime? NextDueAt);

/// <summary>Wakes the engine when enrollments are added (in-process; other nodes wake within <see cref="JourneyEngineOptions.MaxIdle"/>).</summary>
public sealed class JourneySignal
{
    private TaskCompletionSource _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Take before looking for work, wait on after: a signal in between is never lost.</summary>
    public Task Current => Volatile.Read(ref _tcs).Task;

    public void Notify() => Interlocked.Exchange(ref _tcs, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}

/// <summary>Parsed journey versions (immutable, so cached forever).</summary>
public sealed class JourneyPlanCache
{
    public sealed record VersionPlan(JourneyPlan Plan, SendWindowDef? Window);

    private readonly ConcurrentDictionary<(long, int), VersionPlan> _plans = new();

    public async Task<VersionPlan> GetAsync(HeraldDb db, long journeyId, int version, CancellationToken ct)
    {
        if (_plans.TryGetValue((journeyId, version), out var p)) return p;
        var v = await db.Set<JourneyVersion>().AsNoTracking().FirstAsync(x => x.JourneyId == journeyId && x.Version == version, ct);
        p = new VersionPlan(JourneyPlan.Parse(v.Steps),
            v.SendWindow is null ? null : JsonSerializer.Deserialize<SendWindowDef>(v.SendWindow, HeraldJson.Options));
        return _plans.GetOrAdd((journeyId, version), p);
    }
}

/// <summary>
/// Executes journey steps. Claims due enrollments in one statement (FOR UPDATE SKIP LOCKED plus a
/// lease on PostgreSQL; a single UPDATE ... RETURNING on SQLite, where one process owns the work),
/// then runs each enrollment's step in its own transaction that ends with a compare-and-set of the
/// step pointer (<c>WHERE lease_owner = me AND step_id = step</c>): the step's effects and the pointer
/// move commit together or not at all, so a step never runs twice for an enrollment.
/// </summary>
public sealed class JourneyEngine(IServiceScopeFactory scopes, TimeProvider clock, IOptions<JourneyEngineOptions> options,
    JourneyPlanCache plans, ILogger<JourneyEngine> log)
{
    private readonly JourneyEngineOptions _o = options.Value;
    private DateTime _nextCleanup = DateTime.MinValue;

    public string NodeId => _o.NodeId;

    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    private sealed record Claimed(long Id, long WorkspaceId, long JourneyId, int Version, long ContactId, int Entry, string? StepId, int Attempts);

    private sealed record BatchContext(HeraldDb Db, IJourneySender Sender, IAudienceQuery? Audience,
        Dictionary<long, Journey> Journeys, Dictionary<long, string> WorkspaceZones, Dictionary<long, JourneyContact> Contacts);

    /// <summary>Sweeps date triggers, cleans old logs, then claims and runs one batch of due enrollments.</summary>
    public async Task<JourneyRunResult> RunOnceAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var sp = scope.ServiceProvider;
        var db = sp.GetRequiredService<HeraldDb>();
        var enrolled = await SweepDateTriggersAsync(db, sp.GetRequiredService<JourneyEnroller>(), ct);
        var deleted = await CleanupAsync(db, ct);
        var claimed = await ClaimAsync(db, ct);
        int executed = 0, failed = 0;
        if (claimed.Count > 0)
        {
            var ctx = await LoadContextAsync(db, sp, claimed, ct);
            foreach (var c in claimed)
            {
                var (ok, bad) = await RunEnrollmentAsync(ctx, c, ct);
                executed += ok;
                failed += bad;
            }
        }
        return new JourneyRunResult(claimed.Count, executed, failed, enrolled, deleted, await NextDueAsync(db, ct));
    }

    /// <summary>
    /// JourneyEnrollmentClaim. PostgreSQL: the inner SELECT locks due rows with SKIP LOCKED so two
    /// nodes never claim the same enrollment, and the outer UPDATE takes the lease in the same
    /// statement (index journey_enrollment(state, next_action_at) serves the ORDER BY). SQLite has one
    /// writer at a time, so the same UPDATE ... WHERE id IN (SELECT ... LIMIT) is already atomic.
    /// </summary>
    private async Task<List<Claimed>> ClaimAsync(HeraldDb db, CancellationToken ct)
    {
        var now = Now;
        const string due = """
            x.state IN ('active','waiting') AND x.next_action_at <= @now AND (x.lease_until IS NULL OR x.lease_until < @now)
            AND EXISTS (SELECT 1 FROM journey j WHERE j.id = x.journey_id AND j.status = 'active')
            """;
        var sql = db.IsPostgres
            ? $"""
              UPDATE journey_enrollment e SET lease_owner = @owner, lease_until = @until, attempts = e.attempts + 1
              FROM (SELECT x.id FROM journey_enrollment x WHERE {due} ORDER BY x.next_action_at LIMIT @n FOR UPDATE OF x SKIP LOCKED) d
              WHERE e.id = d.id
              RETURNING e.id, e.workspace_id, e.journey_id, e.version, e.contact_id, e.entry, e.step_id, e.attempts
              """
            : $"""
              UPDATE journey_enrollment SET lease_owner = @owner, lease_until = @until, attempts = attempts + 1
              WHERE id IN (SELECT x.id FROM journey_enrollment x WHERE {due} ORDER BY x.next_action_at LIMIT @n)
              RETURNING id, workspace_id, journey_id, version, contact_id, entry, step_id, attempts
              """;
        return await JourneySql.QueryAsync(db, sql,
            r => new Claimed(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt32(3), r.GetInt64(4), r.GetInt32(5),
                r.IsDBNull(6) ? null : r.GetString(6), r.GetInt32(7)),
            ct, ("owner", _o.NodeId), ("until", now + _o.LeaseDuration), ("now", now), ("n", _o.BatchSize));
    }

    private static async Task<BatchContext> LoadContextAsync(HeraldDb db, IServiceProvider sp, List<Claimed> claimed, CancellationToken ct)
    {
        var journeyIds = claimed.Select(c => c.JourneyId).Distinct().ToList();
        var journeys = await db.Set<Journey>().AsNoTracking().Where(j => journeyIds.Contains(j.Id)).ToDictionaryAsync(j => j.Id, ct);
        var wsIds = claimed.Select(c => c.WorkspaceId).Distinct().ToList();
        var zones = await db.Set<Workspace>().AsNoTracking().Where(w => wsIds.Contains(w.Id)).ToDictionaryAsync(w => w.Id, w => w.Timezone, ct);
        var contactIds = claimed.Select(c => c.ContactId).Distinct().ToList();
        var contacts = await db.Set<Contact>().AsNoTracking().Where(c => contactIds.Contains(c.Id))
            .Select(c => new { c.Id, c.Email, c.Phone, c.Timezone, c.DeletedAt, c.EmailConsent, c.SmsConsent, c.WhatsappConsent, c.PushConsent })
            .ToListAsync(ct);
        return new BatchContext(db, sp.GetRequiredService<IJourneySender>(), sp.GetService<IAudienceQuery>(), journeys, zones,
            contacts.ToDictionary(c => c.Id, c => new JourneyContact(c.Id, c.Email, c.Phone, c.Timezone, c.DeletedAt is not null,
                new Dictionary<string, string>
                {
                    [Channels.ChannelNames.Email] = c.EmailConsent, [Channels.ChannelNames.Sms] = c.SmsConsent,
                    [Channels.ChannelNames.WhatsApp] = c.WhatsappConsent, [Channels.ChannelNames.Push] = c.PushConsent,
                })));
    }

    /// <summary>A step's decision: where the enrollment goes next and when.</summary>
    private sealed record StepResult(string? Next, DateTime NextAt, string Outcome, bool Exit = false);

    private async Task<(int Executed, int Failed)> RunEnrollmentAsync(BatchContext ctx, Claimed c, CancellationToken ct)
    {
        var db = ctx.Db;
        var stepId = c.StepId;
        var attempts = c.Attempts;
        var executed = 0;
        var journey = ctx.Journeys[c.JourneyId];
        if (stepId is null)
        {
            // A trailing wait ended: the contact has now finished the journey.
            await JourneySql.ExecuteAsync(db, """
                UPDATE journey_enrollment SET state = 'completed', exited_at = @now, next_action_at = NULL, lease_owner = NULL, lease_until = NULL, attempts = 0
                WHERE id = @id AND lease_owner = @owner AND step_id IS NULL AND state IN ('active','waiting')
                """, ct, ("now", Now), ("id", c.Id), ("owner", _o.NodeId));
            return (0, 0);
        }
        var contact = ctx.Contacts.GetValueOrDefault(c.ContactId) ?? new JourneyContact(c.ContactId, null, null, null, true, new Dictionary<string, string>());
        var zone = ctx.WorkspaceZones.GetValueOrDefault(c.WorkspaceId);
        for (var chain = 0; stepId is not null; chain++)
        {
            var vp = await plans.GetAsync(db, c.JourneyId, c.Version, ct);
            var step = vp.Plan.Find(stepId);
            var now = Now;
            if (step is null)
            {
                await FailAsync(db, c, stepId, "unknown", $"Step '{stepId}' is not in version {c.Version}.", int.MaxValue, ct);
                return (executed, 1);
            }
            if (step.Type == StepTypes.Send && vp.Window is { } w)
            {
                var tz = TimeWindows.Zone(contact.Timezone, w.Timezone, zone);
                JourneyValidator.TryTime(w.Start, out var ws);
                JourneyValidator.TryTime(w.End, out var we);
                var opening = TimeWindows.NextOpening(now, w.Days, ws, we, tz);
                if (opening > now)
                {
                    await DeferAsync(db, c.Id, stepId, opening, ct);
                    return (executed, 0);
                }
            }
            var request = new JourneySendRequest(c.WorkspaceId, c.JourneyId, c.Version, c.Id, c.Entry, step, contact, journey.TestMode, now);
            StepResult result;
            try
            {
                if (step.Type == StepTypes.Send) await ctx.Sender.PrepareAsync(request, ct);
                await using var tx = await db.Database.BeginTransactionAsync(ct);
                result = await ExecuteStepAsync(ctx, c, vp.Plan, step, request, contact, zone, now, ct);
                var next = result.Exit ? null : result.Next;
                var keepLease = next is not null && result.NextAt <= now && chain + 1 < _o.MaxChain;
                if (!await AdvanceAsync(db, c.Id, stepId, step.Type!, next, result, keepLease, now, ct))
                {
                    await tx.RollbackAsync(ct);
                    return (executed, 0); // the lease was lost or the contact exited meanwhile: someone else owns what happens next
                }
                await LogAsync(db, c, step, JobStatus.Completed, result.Outcome, null, now, ct);
                await tx.CommitAsync(ct);
                executed++;
                attempts = 0;
                stepId = keepLease ? next : null;
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                db.ChangeTracker.Clear();
                log.LogWarning(e, "Journey {JourneyId} step {StepId} failed for enrollment {EnrollmentId}", c.JourneyId, stepId, c.Id);
                await FailAsync(db, c, step.Id!, step.Type!, e.Message, Math.Max(attempts, 1), ct);
                return (executed, 1);
            }
        }
        return (executed, 0);
    }

    private async Task<StepResult> ExecuteStepAsync(BatchContext ctx, Claimed c, JourneyPlan plan, StepDef step, JourneySendRequest request,
        JourneyContact contact, string? workspaceZone, DateTime now, CancellationToken ct)
    {
        var next = plan.DefaultNext(step);
        switch (step.Type)
        {
            case StepTypes.Send:
            {
                var o = await ctx.Sender.SendAsync(request, ct);
                return new StepResult(next, now, o.Reason is null ? $"{o.Status}:{o.DeliveryId}" : $"skipped:{o.Reason}");
            }
            case StepTypes.Wait:
                JourneyValidator.TryDuration(step.Duration, out var d);
                return new StepResult(next, now + d, $"wait {step.Duration}");
            case StepTypes.WaitWindow:
            {
                JourneyValidator.TryTime(step.Start, out var s);
                JourneyValidator.TryTime(step.End, out var e);
                var at = TimeWindows.NextOpening(now, step.Days, s, e, TimeWindows.Zone(contact.Timezone, step.Timezone, workspaceZone));
                return new StepResult(next, at, at > now ? "waiting for window" : "window open");
            }
            case StepTypes.Branch:
            {
                var yes = await EvaluateBranchAsync(ctx, c, step, ct);
                return new StepResult((yes ? step.Then : step.Else) ?? next, now, yes ? "then" : "else");
            }
            case StepTypes.Split:
            {
                var branches = step.Branches!;
                var pick = Bucket(c.ContactId, step.Id!, branches.Sum(b => b.Weight));
                for (var i = 0; i < branches.Count; i++)
                {
                    if (pick < branches[i].Weight) return new StepResult(branches[i].Next ?? next, now, $"branch {i}");
                    pick -= branches[i].Weight;
                }
                return new StepResult(next, now, "branch none");
            }
            case StepTypes.Exit:
                return new StepResult(null, now, "exit", Exit: true);
            default:
                throw new InvalidOperationException($"Unknown step type '{step.Type}'.");
        }
    }

    /// <summary>Deterministic per contact and step: the same contact always takes the same split branch.</summary>
    public static int Bucket(long contactId, string stepId, int total)
    {
        // FNV-1a 64: stable across processes and .NET versions (string.GetHashCode is randomized).
        var h = 14695981039346656037UL;
        foreach (var ch in $"{contactId}:{stepId}") { h ^= ch; h *= 1099511628211UL; }
        return (int)(h % (ulong)Math.Max(1, total));
    }

    private static async Task<bool> EvaluateBranchAsync(BatchContext ctx, Claimed c, StepDef step, CancellationToken ct)
    {
        var db = ctx.Db;
        if (step.Filter is { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) } filter)
        {
            var audience = ctx.Audience ?? throw new InvalidOperationException("Filter branches need the audience feature.");
            var fragment = await audience.CompileAsync(c.WorkspaceId, new AudienceDefinition { Filter = filter }, ct);
            var ps = fragment.Parameters.Append(KeyValuePair.Create("j0", (object?)c.ContactId));
            var rows = await JourneySql.QueryAsync(db, $"SELECT 1 FROM ({fragment.Sql}) s WHERE s.id = @j0", ps, r => 1, ct);
            return rows.Count > 0;
        }
        var campaignId = await ctx.Sender.FindStepCampaignAsync(c.JourneyId, c.Version, step.Step!, ct);
        if (campaignId is null) return false;
        var delivery = await db.Set<DeliveryRow>().AsNoTracking()
            .Where(d => d.JourneyEnrollmentId == c.Id && d.CampaignId == campaignId)
            .Select(d => new { d.CreatedAt, d.OpenedAt, d.ClickedAt }).FirstOrDefaultAsync(ct);
        if (delivery is null) return false;
        var deadline = JourneyValidator.TryDuration(step.Within, out var within) ? delivery.CreatedAt + within : DateTime.MaxValue;
        switch (step.On)
        {
            case "opened": return delivery.OpenedAt is { } o && o <= deadline;
            case "clicked": return delivery.ClickedAt is { } k && k <= deadline;
            default:
                var type = step.ConversionEvent ?? "order";
                return await db.Set<ContactEvent>().AnyAsync(e => e.ContactId == c.ContactId && e.Type == type
                    && e.OccurredAt >= delivery.CreatedAt && e.OccurredAt <= deadline, ct);
        }
    }

    private string AppendHistory(HeraldDb db) =>
        db.IsPostgres ? "history || jsonb_build_array(CAST(@h AS jsonb))" : "json_insert(history, '$[#]', json(@h))";

    /// <summary>
    /// JourneyEnrollmentAdvance: compare-and-set of the step pointer. It matches only while this node
    /// holds the lease, the enrollment is still on <paramref name="stepId"/> and not exited, so the
    /// step's effects (in the same transaction) commit at most once.
    /// </summary>
    private async Task<bool> AdvanceAsync(HeraldDb db, long id, string stepId, string stepType, string? next, StepResult r, bool keepLease, DateTime now, CancellationToken ct)
    {
        // A wait as the last step keeps the contact in the journey (waiting, no step) until it ends:
        // re-entry after_exit and exit events see it as still enrolled.
        var trailingWait = next is null && !r.Exit && r.NextAt > now;
        var state = trailingWait ? EnrollmentState.Waiting
            : next is null ? (r.Exit ? EnrollmentState.Exited : EnrollmentState.Completed)
            : r.NextAt > now ? EnrollmentState.Waiting : EnrollmentState.Active;
        var history = JsonSerializer.Serialize(new { step = stepId, type = stepType, at = now, outcome = r.Outcome }, HeraldJson.Options);
        var n = await JourneySql.ExecuteAsync(db, $"""
            UPDATE journey_enrollment
            SET step_id = @next, state = @state, next_action_at = @at, attempts = 0, last_error = NULL,
                lease_owner = @keepOwner, lease_until = @keepUntil, exited_at = @exited, history = {AppendHistory(db)}
            WHERE id = @id AND lease_owner = @owner AND step_id = @step AND state IN ('active','waiting')
            """, ct,
            ("next", next), ("state", state), ("at", next is null && !trailingWait ? null : r.NextAt),
            ("keepOwner", keepLease ? _o.NodeId : null), ("keepUntil", keepLease ? now + _o.LeaseDuration : null),
            ("exited", next is null && !trailingWait ? now : null), ("h", history), ("id", id), ("owner", _o.NodeId), ("step", stepId));
        return n == 1;
    }

    /// <summary>Outside the send window: sleep until it opens, same step, lease released.</summary>
    private async Task DeferAsync(HeraldDb db, long id, string stepId, DateTime at, CancellationToken ct) =>
        await JourneySql.ExecuteAsync(db, """
            UPDATE journey_enrollment SET next_action_at = @at, state = 'waiting', attempts = 0, lease_owner = NULL, lease_until = NULL
            WHERE id = @id AND lease_owner = @owner AND step_id = @step AND state IN ('active','waiting')
            """, ct, ("at", at), ("id", id), ("owner", _o.NodeId), ("step", stepId));

    /// <summary>A failed step retries with backoff until <see cref="JourneyEngineOptions.MaxAttempts"/>, then the enrollment fails (kept, with the error).</summary>
    private async Task FailAsync(HeraldDb db, Claimed c, string stepId, string stepType, string error, int attempts, CancellationToken ct)
    {
        var now = Now;
        error = error.Length > 1000 ? error[..1000] : error;
        var final = attempts >= _o.MaxAttempts;
        var retryAt = now + _o.RetryBase * Math.Pow(2, Math.Max(0, attempts - 1));
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var history = JsonSerializer.Serialize(new { step = stepId, type = stepType, at = now, outcome = "failed: " + error }, HeraldJson.Options);
        var n = await JourneySql.ExecuteAsync(db, $"""
            UPDATE journey_enrollment
            SET state = CASE WHEN @final THEN 'failed' ELSE state END,
                next_action_at = CASE WHEN @final THEN NULL ELSE @retry END,
                exited_at = CASE WHEN @final THEN @now ELSE NULL END,
                attempts = @attempts, last_error = @error, lease_owner = NULL, lease_until = NULL, history = {AppendHistory(db)}
            WHERE id = @id AND lease_owner = @owner AND step_id = @step AND state IN ('active','waiting')
            """, ct, ("final", final), ("retry", retryAt), ("now", now), ("attempts", attempts), ("error", error), ("h", history),
            ("id", c.Id), ("owner", _o.NodeId), ("step", stepId));
        if (n == 1)
            await LogAsync(db, c, new StepDef { Id = stepId, Type = stepType }, JobStatus.Failed, final ? "failed" : "retrying", error, now, ct);
        await tx.CommitAsync(ct);
    }

    private static Task LogAsync(HeraldDb db, Claimed c, StepDef step, string status, string? outcome, string? error, DateTime now, CancellationToken ct) =>
        JourneySql.ExecuteAsync(db, """
            INSERT INTO journey_step_log (workspace_id, journey_id, enrollment_id, step_id, step_type, status, outcome, error, at)
            VALUES (@ws, @j, @e, @step, @type, @status, @outcome, @error, @at)
            """, ct, ("ws", c.WorkspaceId), ("j", c.JourneyId), ("e", c.Id), ("step", step.Id), ("type", step.Type), ("status", status),
            ("outcome", outcome is { Length: > 200 } ? outcome[..200] : outcome), ("error", error), ("at", now));

    /// <summary>JourneyStepLogExpire: completed step logs past the retention period; failed ones stay. At most hourly.</summary>
    private async Task<int> CleanupAsync(HeraldDb db, CancellationToken ct)
    {
        var now = Now;
        if (now < _nextCleanup) return 0;
        _nextCleanup = now.AddHours(1);
        var cutoff = now - _o.CompletedLogRetention;
        return await db.Set<JourneyStepLog>().Where(l => l.Status == JobStatus.Completed && l.At < cutoff).ExecuteDeleteAsync(ct);
    }

    /// <summary>When the engine next has work: the earliest due enrollment of an active journey (or an expiring lease), or a date sweep.</summary>
    private static async Task<DateTime?> NextDueAsync(HeraldDb db, CancellationToken ct)
    {
        var due = await JourneySql.QueryAsync(db, """
            SELECT MIN(CASE WHEN x.lease_until IS NOT NULL AND x.lease_until > x.next_action_at THEN x.lease_until ELSE x.next_action_at END)
            FROM journey_enrollment x
            WHERE x.state IN ('active','waiting') AND EXISTS (SELECT 1 FROM journey j WHERE j.id = x.journey_id AND j.status = 'active')
            """, r => r.UtcOrNull(0), ct);
        var sweep = await db.Set<Journey>().Where(j => j.Status == JourneyStatus.Active && j.NextSweepAt != null).MinAsync(j => j.NextSweepAt, ct);
        var first = due.FirstOrDefault();
        return first is null ? sweep : sweep is null ? first : (first < sweep ? first : sweep);
    }

    /// <summary>
    /// date_attribute triggers, evaluated hourly: a contact enters on the day its date (plus the offset)
    /// comes round in its own timezone, in the hour that starts at the trigger's local time. createdAt
    /// matches the exact date; attributes.&lt;key&gt; match every year (birthdays, anniversaries).
    /// Contacts are read in keyset pages of 5,000 and enrolled with one statement per page.
    /// </summary>
    private async Task<int> SweepDateTriggersAsync(HeraldDb db, JourneyEnroller enroller, CancellationToken ct)
    {
        var now = Now;
        var journeys = await db.Set<Journey>().Where(j => j.Status == JourneyStatus.Active && j.TriggerType == TriggerTypes.DateAttribute
            && (j.NextSweepAt == null || j.NextSweepAt <= now)).ToListAsync(ct);
        var total = 0;
        foreach (var j in journeys)
        {
            var t = JsonSerializer.Deserialize<TriggerDef>(j.Trigger, HeraldJson.Options)!;
            var first = JourneyPlan.Parse(j.Steps).FirstStepId;
            var wsZone = await db.Set<Workspace>().Where(w => w.Id == j.WorkspaceId).Select(w => w.Timezone).FirstAsync(ct);
            JourneyValidator.TryTime(t.At ?? "09:00", out var at);
            var key = t.Attribute == "createdAt" ? null : t.Attribute!["attributes.".Length..];
            long last = 0;
            while (first is not null)
            {
                var page = await db.Set<Contact>().AsNoTracking()
                    .Where(c => c.WorkspaceId == j.WorkspaceId && c.DeletedAt == null && c.Id > last).OrderBy(c => c.Id).Take(5000)
                    .Select(c => new { c.Id, c.Timezone, c.CreatedAt, c.Attributes }).ToListAsync(ct);
                if (page.Count == 0) break;
                last = page[^1].Id;
                var matches = new List<long>();
                foreach (var c in page)
                {
                    var zone = TimeWindows.Zone(c.Timezone, wsZone);
                    var local = TimeZoneInfo.ConvertTimeFromUtc(now, zone);
                    var tod = TimeOnly.FromDateTime(local);
                    var end = at.AddHours(1);
                    var inHour = end > at ? tod >= at && tod < end : tod >= at || tod < end;
                    if (!inHour) continue;
                    var today = DateOnly.FromDateTime(local);
                    if (key is null)
                    {
                        var created = DateOnly.FromDateTime(TimeZoneInfo.ConvertTimeFromUtc(c.CreatedAt, zone));
                        if (created.AddDays(t.OffsetDays ?? 0) == today) matches.Add(c.Id);
                    }
                    else if (ReadDate(c.Attributes, key) is { } date)
                    {
                        var target = date.AddDays(t.OffsetDays ?? 0);
                        if (target.Month == today.Month && target.Day == today.Day) matches.Add(c.Id);
                    }
                }
                total += await enroller.EnrollAsync(j, first, matches, ct);
            }
            var hour = new DateTime(now.Year, now.Month, now.Day, now.Hour, 0, 0, DateTimeKind.Utc).AddHours(1);
            j.NextSweepAt = hour;
            await db.SaveChangesAsync(ct);
        }
        return total;
    }

    private static DateOnly? ReadDate(string attributesJson, string key)
    {
        try
        {
            using var doc = JsonDocument.Parse(attributesJson);
            if (!doc.RootElement.TryGetProperty(key, out var v) || v.ValueKind != JsonValueKind.String) return null;
            var s = v.GetString()!;
            if (DateOnly.TryParseExact(s, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var d)) return d;
            return DateTime.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out var dt) ? DateOnly.FromDateTime(dt) : null;
        }
        catch (JsonException) { return null; }
    }
}

/// <summary>Runs the engine on worker nodes: sleeps until the earliest due step, woken early by <see cref="JourneySignal"/>.</summary>
internal sealed class JourneyEngineService(JourneyEngine engine, JourneySignal signal, TimeProvider clock,
    IOptions<JourneyEngineOptions> options, ILogger<JourneyEngineService> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        var o = options.Value;
        while (!ct.IsCancellationRequested)
        {
            var wake = signal.Current;
            TimeSpan delay;
            try
            {
                var r = await engine.RunOnceAsync(ct);
                if (r.Claimed >= o.BatchSize) continue;
                var now = clock.GetUtcNow().UtcDateTime;
                delay = r.NextDueAt is { } due ? due - now : o.MaxIdle;
                if (delay > o.MaxIdle) delay = o.MaxIdle;
                if (delay <= TimeSpan.Zero) continue;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                log.LogError(e, "Journey engine pass failed");
                delay = TimeSpan.FromSeconds(1);
            }
            try { await Task.WhenAny(wake, Task.Delay(delay, clock, ct)); }
            catch (OperationCanceledException) { return; }
        }
    }
}
