using System.Collections.Concurrent;
using System.Data.Common;
using System.Text;
using System.Text.Json;
using Herald.Campaigns;
using Herald.Channels;
using Herald.Contacts;
using Herald.Storage;
using Herald.Templates;
using Herald.Workspaces;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Herald.Delivery;

/// <summary>What one claim-and-send pass did (tests read it).</summary>
public sealed record BatchResult(int Claimed, int Sent, int Failed, int Retried, int Deferred, int Skipped)
{
    public static readonly BatchResult Idle = new(0, 0, 0, 0, 0, 0);
}

/// <summary>What one sweep did: leases reclaimed (by crash policy) and cancelled-run deliveries skipped.</summary>
public sealed record SweepResult(int Requeued, int Unknown, int Cancelled);

/// <summary>
/// The delivery pipeline, top to bottom: claim a batch (lease) -> load contacts -> render (compiled once per
/// run, variant and channel) -> send window / daily limit / rate limit -> send with bounded concurrency ->
/// record results and run counters in one statement -> completion, auto-pause, progress.
/// One instance per node; <see cref="DeliveryWorker"/> runs its loops.
/// </summary>
public sealed class DeliveryEngine(
    IServiceScopeFactory scopes, ChannelRouter router, IRateLimiter limiter, DeliveryCompletion completion,
    IOptions<DeliveryOptions> options, TimeProvider clock, ILogger<DeliveryEngine> log)
{
    private readonly DeliveryOptions _o = options.Value;
    private readonly ConcurrentDictionary<long, Lazy<Task<RunContext>>> _runs = new();

    /// <summary>This node's lease owner name.</summary>
    public string Node { get; } = options.Value.NodeName ?? $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";

    private sealed record Claimed(long Id, long WorkspaceId, long RunId, long CampaignId, long ContactId, string Channel, string Address, string? Variant, int Attempts, long? ConfigId, DateTime DueAt = default)
    {
        /// <summary>The contact, read by the claim itself (PostgreSQL); null when it no longer exists. SQLite loads contacts after the claim.</summary>
        public Contact? Contact { get; init; }
    }

    /// <summary>A claimed batch: its rows, and the first-pass range lease they came under (0: leased row by row).</summary>
    private sealed record Batch(List<Claimed> Rows, long LeaseId)
    {
        public static readonly Batch Empty = new([], 0);
    }

    private sealed record Outcome(long Id, string Status, DateTime NextAt, string? ProviderMessageId, string? Code, string? Text, string? Reason, int Attempts);

    /// <summary>Everything about a run the workers need, loaded once per node and run.</summary>
    private sealed class RunContext
    {
        public required Campaign Campaign { get; init; }
        public required Workspace Workspace { get; init; }
        public required TimeZoneInfo Zone { get; init; }
        public required SendWindow? Window { get; init; }
        public required Dictionary<string, int> DailyLimits { get; init; }
        public required RateLimit CampaignLimit { get; init; }
        public readonly ConcurrentDictionary<(string? Variant, string Channel), Lazy<(ICompiledMessage? Message, string? Error)>> Compiled = new();
        public required ChannelContent Content { get; init; }
        public required Dictionary<string, JsonElement?> VariantContent { get; init; }
        /// <summary>The campaign's product (template scope) and media (WhatsApp header, push image).</summary>
        public Assets.CampaignMedia Media { get; init; } = Assets.CampaignMedia.None;
        /// <summary>Open pixel, click links and unsubscribe URL of the run's messages (prepared with the context).</summary>
        public Tracking.RunTracking Tracking { get; set; } = Herald.Tracking.RunTracking.None;
    }

    // ---------------------------------------------------------------- claim

    /// <summary>
    /// DeliveryClaimBatch (PostgreSQL): one statement. The inner SELECT walks the partial index on
    /// (next_attempt_at, id) WHERE status = 'pending' in order and stops at LIMIT; SKIP LOCKED lets nodes claim
    /// disjoint batches without waiting on each other; only runs that are running are served. The uncorrelated
    /// EXISTS becomes a one-time filter: with no run running the statement stops before touching the index (while a
    /// run materializes, its uncommitted rows are already in the pending index, and walking 1M of them per idle
    /// claim took the cores the materializing INSERT needed).
    /// The scan starts after this node's claim cursor (@after_at, @after_id), the last row it claimed: the index
    /// keeps an entry for every row claimed since the last vacuum, all at the front (one run's rows share one due
    /// time), and a scan from the start stepped over all of them on every claim (measured: 0.3 ms for a batch at
    /// the start of a run, 58 ms after 100k claimed). See <see cref="ClaimCursor"/> for when it goes back to the start.
    /// </summary>
    private const string ClaimPostgres = $"""
        UPDATE delivery d SET status = 'sending', lease_owner = @owner, lease_until = @until, attempts = d.attempts + 1
        FROM (SELECT x.id, x.contact_id FROM delivery x
              WHERE x.status = 'pending' AND NOT x.first_pass AND x.next_attempt_at <= @now
                AND (x.next_attempt_at, x.id) > (@after_at, @after_id)
                AND EXISTS (SELECT 1 FROM campaign_run r0 WHERE r0.status = 'running')
                AND x.run_id IN (SELECT r.id FROM campaign_run r WHERE r.status = 'running')
              ORDER BY x.next_attempt_at, x.id
              LIMIT @n
              FOR UPDATE OF x SKIP LOCKED) c
        LEFT JOIN contact ct ON ct.id = c.contact_id
        WHERE d.id = c.id
        RETURNING d.id, d.workspace_id, d.run_id, d.campaign_id, d.contact_id, d.channel, d.address, d.variant, d.attempts, d.channel_config_id, d.next_attempt_at,
            {ContactColumns}
        """;

    /// <summary>
    /// DeliveryClaimRange (PostgreSQL): the next batch of a running run's first pass, by id, with no write to the
    /// delivery rows. The run row is locked (claims of one run queue behind each other for the few milliseconds this
    /// takes), its cursor moves past the batch, and one lease row records the range and its owner: the rows stay
    /// 'pending' until their result is recorded, and the lease is what marks them taken (see <see cref="DeliveryLease"/>).
    /// A run still starting is served too: its audience is written in chunks and the committed ones are sent
    /// meanwhile (<see cref="CampaignRun.Materializing"/>). Pause, cancel and expiry change the run row, so a claim
    /// waiting on its lock re-reads it and stops.
    /// Under READ COMMITTED the locked run row can be newer than this statement's snapshot (another claim or a
    /// run start committed while this one waited): the cursor is taken from the locked row (rows up to it are
    /// taken), but the scan's upper bound from the snapshot's own view of the run (<c>snap</c>), so the cursor never
    /// moves past a row this statement could not see. The bounds are scalar subqueries and <c>run_id + 0</c> keeps the
    /// run's unique index out of the plan, so the scan walks the primary key from the cursor and stops at LIMIT
    /// (joined to the run row, or through the run's index, it read and sorted the whole rest of the run per batch).
    /// </summary>
    private const string ClaimRangePostgres = $"""
        WITH r AS (
            SELECT id, range_cursor FROM campaign_run
            WHERE status IN ('running', 'starting') AND range_cursor < range_last
            ORDER BY id LIMIT 1
            FOR UPDATE
        ), snap AS (
            SELECT cr.range_last FROM campaign_run cr JOIN r ON cr.id = r.id
        ), c AS (
            SELECT d.id, d.workspace_id, d.run_id, d.campaign_id, d.contact_id, d.channel, d.address, d.variant, d.attempts + 1 AS attempts,
                   d.channel_config_id, d.next_attempt_at
            FROM delivery d
            WHERE d.id > (SELECT range_cursor FROM r) AND d.id <= (SELECT range_last FROM snap)
              AND d.run_id + 0 = (SELECT id FROM r) AND d.status = 'pending' AND d.first_pass
            ORDER BY d.id LIMIT @n
        ), cur AS (
            SELECT r.id AS run_id, r.range_cursor + 1 AS first_id,
                   GREATEST(r.range_cursor, CASE WHEN (SELECT COUNT(*) FROM c) < @n THEN (SELECT range_last FROM snap) ELSE (SELECT MAX(id) FROM c) END) AS last_id
            FROM r
        ), mv AS (
            UPDATE campaign_run SET range_cursor = cur.last_id FROM cur WHERE campaign_run.id = cur.run_id AND cur.last_id > campaign_run.range_cursor
        ), l AS (
            INSERT INTO delivery_lease (run_id, owner, lease_until, first_id, last_id, created_at)
            SELECT run_id, @owner, @until, first_id, last_id, @now FROM cur WHERE EXISTS (SELECT 1 FROM c)
            RETURNING id
        )
        SELECT c.id, c.workspace_id, c.run_id, c.campaign_id, c.contact_id, c.channel, c.address, c.variant, c.attempts, c.channel_config_id, c.next_attempt_at,
            {ContactColumns}, (SELECT id FROM l)
        FROM c LEFT JOIN contact ct ON ct.id = c.contact_id
        ORDER BY c.id
        """;

    /// <summary>The contact columns the send path reads (rendering, per-recipient send windows), read by the claim.</summary>
    private const string ContactColumns = "ct.id, ct.external_id, ct.email, ct.phone, ct.first_name, ct.last_name, ct.locale, ct.timezone, ct.city, ct.region, ct.country, " +
        "ct.lifecycle, ct.tags, ct.attributes, ct.total_orders, ct.total_spent, ct.last_order_at, ct.engagement_score, ct.rfm_segment, ct.created_at, ct.deleted_at";

    private const int ContactOrdinal = 11;

    private static Contact? ReadContact(DbDataReader r)
    {
        const int o = ContactOrdinal;
        if (r.IsDBNull(o)) return null;
        return new Contact
        {
            Id = r.GetInt64(o), ExternalId = r.NullableString(o + 1), Email = r.NullableString(o + 2), Phone = r.NullableString(o + 3),
            FirstName = r.NullableString(o + 4), LastName = r.NullableString(o + 5), Locale = r.NullableString(o + 6), Timezone = r.NullableString(o + 7),
            City = r.NullableString(o + 8), Region = r.NullableString(o + 9), Country = r.NullableString(o + 10), Lifecycle = r.GetString(o + 11),
            Tags = r.IsDBNull(o + 12) ? [] : [.. r.GetFieldValue<string[]>(o + 12)], Attributes = r.IsDBNull(o + 13) ? "{}" : r.GetString(o + 13),
            TotalOrders = r.GetInt32(o + 14), TotalSpent = r.GetDecimal(o + 15), LastOrderAt = r.IsDBNull(o + 16) ? null : r.GetDateTime(o + 16),
            EngagementScore = r.GetDouble(o + 17), RfmSegment = r.NullableString(o + 18), CreatedAt = r.GetDateTime(o + 19),
            DeletedAt = r.IsDBNull(o + 20) ? null : r.GetDateTime(o + 20),
        };
    }

    /// <summary>
    /// Where this node's next PostgreSQL claim starts: after the highest (next_attempt_at, id) it has claimed. It only
    /// narrows where the claim looks; what is claimed is still decided by status, lease and SKIP LOCKED, so it cannot
    /// cause a duplicate or a loss. A row can be left behind it (it became pending again with an earlier due time, or a
    /// concurrent claim that had it locked rolled back), so the cursor goes back to the start whenever a claim finds
    /// fewer rows than it asked for (the due work ahead of it is used up) and at least every
    /// <see cref="ClaimCursorResetMs"/>: such a row waits at most that long.
    /// </summary>
    private sealed class ClaimCursor
    {
        public DateTime At = DateTime.MinValue;
        public long Id;
        public long SetAtMs;
        public bool IsStart => At == DateTime.MinValue;
    }

    private const long ClaimCursorResetMs = 5_000;
    private readonly ClaimCursor _cursor = new();
    private readonly Lock _cursorLock = new();

    private (DateTime At, long Id) CursorRead()
    {
        lock (_cursorLock)
        {
            if (!_cursor.IsStart && Environment.TickCount64 - _cursor.SetAtMs > ClaimCursorResetMs) Reset();
            return (_cursor.At, _cursor.Id);
        }
    }

    private void CursorAdvance(List<Claimed> claimed, int asked)
    {
        lock (_cursorLock)
        {
            if (claimed.Count < asked) { Reset(); return; }
            if (_cursor.IsStart) _cursor.SetAtMs = Environment.TickCount64;
            foreach (var c in claimed)
                if (c.DueAt > _cursor.At || (c.DueAt == _cursor.At && c.Id > _cursor.Id)) (_cursor.At, _cursor.Id) = (c.DueAt, c.Id);
        }
    }

    private void Reset() => (_cursor.At, _cursor.Id) = (DateTime.MinValue, 0);

    /// <summary>
    /// DeliveryClaimBatch (SQLite): one process owns the file and statements are serialized, so no locking clause
    /// is needed. The unary + on run_id stops SQLite from choosing the (run_id, ...) unique index and sorting the
    /// whole run on every claim; it must walk the partial pending index in next_attempt_at order and stop at LIMIT.
    /// </summary>
    private const string ClaimSqlite = """
        UPDATE delivery SET status = 'sending', lease_owner = @owner, lease_until = @until, attempts = attempts + 1
        WHERE id IN (SELECT x.id FROM delivery x
                     WHERE x.status = 'pending' AND NOT x.first_pass AND x.next_attempt_at <= @now
                       AND +x.run_id IN (SELECT r.id FROM campaign_run r WHERE r.status = 'running')
                     ORDER BY x.next_attempt_at
                     LIMIT @n)
        RETURNING id, workspace_id, run_id, campaign_id, contact_id, channel, address, variant, attempts, channel_config_id
        """;

    /// <summary>Claims one batch and carries it through to recorded results.</summary>
    public async Task<BatchResult> RunOnceAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
        var now = clock.GetUtcNow().UtcDateTime;
        var until = now.AddSeconds(_o.LeaseSeconds);
        var batch = await ClaimAsync(db, now, until, ct);
        var claimed = batch.Rows;
        if (claimed.Count == 0) return BatchResult.Idle;

        using var heartbeat = new CancellationTokenSource();
        var beat = HeartbeatAsync(batch, heartbeat.Token);
        List<Outcome> outcomes;
        try
        {
            outcomes = await ProcessAsync(db, batch, ct);
        }
        finally
        {
            await heartbeat.CancelAsync();
            await beat;
        }
        await RecordAsync(db, outcomes, batch.LeaseId, ct);
        if (!db.IsPostgres) await RecordRunStatsAsync(db, claimed, outcomes, ct);
        return new BatchResult(claimed.Count, outcomes.Count(o => o.Status == DeliveryStatus.Sent), outcomes.Count(o => o.Status == DeliveryStatus.Failed),
            outcomes.Count(o => o.Status == DeliveryStatus.Pending && o.Reason == "retry"), outcomes.Count(o => o.Status == DeliveryStatus.Pending && o.Reason != "retry"),
            outcomes.Count(o => o.Status == DeliveryStatus.Skipped));
    }

    /// <summary>Every this many claims a worker looks at the row queue (retries, deferrals) before the first passes.</summary>
    private const int RowQueueFirstEvery = 8;

    private int _claims;

    private async Task<Batch> ClaimAsync(HeraldDb db, DateTime now, DateTime until, CancellationToken ct)
    {
        if (!db.IsPostgres)
            return new Batch(await Sql.QueryAsync(db, ClaimSqlite, ReadClaimed, ct, ("owner", Node), ("until", Sql.Time(db, until)), ("now", Sql.Time(db, now)), ("n", _o.BatchSize)), 0);
        // First passes by range, then the row queue; now and then the row queue first, so a retry or a deferred
        // delivery that is due does not wait for a whole first pass of another run.
        var rowFirst = Interlocked.Increment(ref _claims) % RowQueueFirstEvery == 0;
        if (!rowFirst && await ClaimRangeAsync(db, now, until, ct) is { Rows.Count: > 0 } range) return range;
        var rows = await ClaimRowsAsync(db, now, until, ct);
        if (rows.Rows.Count > 0 || !rowFirst) return rows;
        return await ClaimRangeAsync(db, now, until, ct);
    }

    private async Task<Batch> ClaimRangeAsync(HeraldDb db, DateTime now, DateTime until, CancellationToken ct)
    {
        long lease = 0;
        var rows = await Sql.QueryAsync(db, ClaimRangePostgres, r =>
        {
            lease = r.GetInt64(r.FieldCount - 1);
            return ReadClaimed(r);
        }, ct, ("owner", Node), ("until", until), ("now", now), ("n", _o.BatchSize));
        return rows.Count == 0 ? Batch.Empty : new Batch(rows, lease);
    }

    /// <summary>A claimed row; the PostgreSQL claims also return its due time and its contact (<see cref="ContactColumns"/>).</summary>
    private static Claimed ReadClaimed(DbDataReader r) => new(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4), r.GetString(5), r.GetString(6),
        r.NullableString(7), r.GetInt32(8), r.NullableLong(9), r.FieldCount > 10 ? r.GetDateTime(10) : default) { Contact = r.FieldCount > ContactOrdinal ? ReadContact(r) : null };

    private async Task<Batch> ClaimRowsAsync(HeraldDb db, DateTime now, DateTime until, CancellationToken ct)
    {
        while (true)
        {
            var (afterAt, afterId) = CursorRead();
            var claimed = await Sql.QueryAsync(db, ClaimPostgres, ReadClaimed, ct, ("owner", Node), ("until", until), ("now", now), ("n", _o.BatchSize),
                ("after_at", DateTime.SpecifyKind(afterAt, DateTimeKind.Utc)), ("after_id", afterId));
            CursorAdvance(claimed, _o.BatchSize);
            // Nothing after the cursor: look once more from the start before calling the node idle.
            if (claimed.Count > 0 || afterAt == DateTime.MinValue) return new Batch(claimed, 0);
        }
    }

    /// <summary>
    /// LeaseRenew: keeps a long batch (slow provider, tight rate limit) from being reclaimed while it is still being
    /// worked: its range lease row, or each row of a row-by-row batch.
    /// </summary>
    private async Task HeartbeatAsync(Batch batch, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(0.5, _o.LeaseSeconds / 3.0)), clock);
        var ids = batch.LeaseId == 0 ? batch.Rows.Select(c => c.Id).ToArray() : [];
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
                var until = clock.GetUtcNow().UtcDateTime.AddSeconds(_o.LeaseSeconds);
                if (batch.LeaseId != 0)
                {
                    await Sql.ExecAsync(db, "UPDATE delivery_lease SET lease_until = @until WHERE id = @lease AND owner = @owner",
                        ct, ("until", Sql.Time(db, until)), ("lease", batch.LeaseId), ("owner", Node));
                    continue;
                }
                var idList = db.IsPostgres ? "id = ANY(@ids)" : "id IN (SELECT value FROM json_each(@ids))";
                await Sql.ExecAsync(db, $"UPDATE delivery SET lease_until = @until WHERE status = 'sending' AND lease_owner = @owner AND {idList}",
                    ct, ("until", Sql.Time(db, until)), ("owner", Node), ("ids", db.IsPostgres ? ids : JsonSerializer.Serialize(ids)));
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception e) { log.LogWarning(e, "Lease renewal failed"); }
    }

    // ---------------------------------------------------------------- process

    private async Task<List<Outcome>> ProcessAsync(HeraldDb db, Batch batch, CancellationToken ct)
    {
        var claimed = batch.Rows;
        var now = clock.GetUtcNow().UtcDateTime;
        var outcomes = new List<Outcome>(claimed.Count);
        // The PostgreSQL claims read the contacts; SQLite's (UPDATE ... RETURNING, no join) loads them here.
        Dictionary<long, Contact>? contacts = null;
        if (!db.IsPostgres)
        {
            var contactIds = claimed.Select(c => c.ContactId).Distinct().ToList();
            contacts = await db.Set<Contact>().AsNoTracking().Where(c => contactIds.Contains(c.Id)).ToDictionaryAsync(c => c.Id, ct);
        }
        var toSend = new List<(Claimed Row, RunContext Ctx, Contact Contact)>(claimed.Count);

        foreach (var row in claimed)
        {
            var ctx = await ContextAsync(row.RunId, ct);
            var contact = contacts is null ? row.Contact : contacts.GetValueOrDefault(row.ContactId);
            if (contact is null || contact.DeletedAt is not null)
            {
                outcomes.Add(new Outcome(row.Id, DeliveryStatus.Skipped, now, null, null, null, "deleted", row.Attempts));
                continue;
            }
            if (ctx.Campaign.EndAt is { } end && end <= now)
            {
                outcomes.Add(new Outcome(row.Id, DeliveryStatus.Skipped, now, null, null, null, "expired", row.Attempts));
                continue;
            }
            if (ctx.Window is { } w)
            {
                var zone = w.PerRecipient ? SendWindow.FindZone(contact.Timezone, ctx.Zone) : SendWindow.FindZone(w.Timezone, ctx.Zone);
                var open = w.NextOpening(now, zone);
                if (open > now)
                {
                    outcomes.Add(new Outcome(row.Id, DeliveryStatus.Pending, open, null, null, null, "send_window", row.Attempts - 1));
                    continue;
                }
            }
            toSend.Add((row, ctx, contact));
        }

        foreach (var group in toSend.GroupBy(x => (x.Row.WorkspaceId, x.Row.Channel, x.Row.ConfigId, x.Row.RunId)))
        {
            var items = group.ToList();
            var ctx = items[0].Ctx;
            // Daily limit of the workspace for this channel, counted in its local day.
            if (ctx.DailyLimits.TryGetValue(group.Key.Channel, out var daily))
            {
                var day = TimeZoneInfo.ConvertTimeFromUtc(now, ctx.Zone).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
                var granted = await DailyLimits.TakeAsync(db, group.Key.WorkspaceId, group.Key.Channel, day, daily, items.Count, ct);
                if (granted < items.Count)
                {
                    var midnight = SendWindow.NextLocalMidnight(now, ctx.Zone);
                    foreach (var x in items.Skip(granted))
                        outcomes.Add(new Outcome(x.Row.Id, DeliveryStatus.Pending, midnight, null, null, null, "daily_limit", x.Row.Attempts - 1));
                    items = items.Take(granted).ToList();
                    await Sql.ExecAsync(db, "UPDATE campaign_run SET status_reason = 'paused: daily limit' WHERE id = @r AND status = 'running'", ct, ("r", group.Key.RunId));
                }
            }
            if (items.Count == 0) continue;
            var route = await router.RouteAsync(group.Key.WorkspaceId, group.Key.Channel, group.Key.ConfigId, ct);
            outcomes.AddRange(await SendAsync(route, ctx, items, ct));
        }
        return outcomes;
    }

    private async Task<List<Outcome>> SendAsync(ChannelRoute route, RunContext ctx, List<(Claimed Row, RunContext Ctx, Contact Contact)> items, CancellationToken ct)
    {
        var outcomes = new List<Outcome>(items.Count);
        var now = clock.GetUtcNow().UtcDateTime;
        var messages = new List<OutgoingMessage>(items.Count);
        var attempts = new Dictionary<long, int>(items.Count);
        foreach (var (row, _, contact) in items)
        {
            attempts[row.Id] = row.Attempts;
            var (compiled, error) = ctx.Compiled.GetOrAdd((row.Variant, row.Channel), k => new Lazy<(ICompiledMessage?, string?)>(() => Compile(ctx, k.Variant, k.Channel))).Value;
            RenderedMessage? rendered = null;
            try
            {
                rendered = compiled?.Render(new RenderScope(contact, ctx.Workspace.Name, ctx.Campaign.Id, ctx.Campaign.Name,
                    UnsubscribeUrl: ctx.Tracking.UnsubscribeUrl(row.Id), Product: ctx.Media.Product));
            }
            catch (Exception e)
            {
                error = "render failed: " + e.Message;
            }
            if (rendered is null)
            {
                outcomes.Add(new Outcome(row.Id, DeliveryStatus.Failed, now, null, "render_error", Trim(error ?? "nothing to render"), "permanent", row.Attempts));
                continue;
            }
            rendered = ctx.Tracking.Apply(row.Variant, row.Channel, row.Id, rendered);
            messages.Add(new OutgoingMessage(row.Id, row.WorkspaceId, row.CampaignId, row.RunId, row.ContactId, row.Channel, row.Address, ctx.Media.ApplyTo(row.Channel, rendered)));
        }

        var results = new ConcurrentBag<SendResult>();
        var wholeBatch = route.Provider is IWholeBatchProvider;
        var chunkSize = wholeBatch ? messages.Count : Math.Max(1, (int)Math.Ceiling(messages.Count / (double)_o.SendConcurrency));
        using var gate = new SemaphoreSlim(_o.SendConcurrency);
        var running = new List<Task>();
        var next = 0;
        while (next < messages.Count)
        {
            var n = await AcquireAsync(route, ctx, Math.Min(chunkSize, messages.Count - next), ct);
            var chunk = messages.GetRange(next, n);
            next += n;
            await gate.WaitAsync(ct);
            running.Add(Task.Run(async () =>
            {
                try
                {
                    foreach (var r in await route.Provider.SendBatchAsync(chunk, ct)) results.Add(r);
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    log.LogWarning(e, "Provider {Provider} failed a batch of {Count}", route.Provider.Name, chunk.Count);
                    foreach (var m in chunk) results.Add(new SendResult(m.DeliveryId, FailureKind.Transient, null, "provider_error", Trim(e.Message)));
                }
                finally
                {
                    gate.Release();
                }
            }, ct));
        }
        await Task.WhenAll(running);

        now = clock.GetUtcNow().UtcDateTime;
        var byId = results.GroupBy(r => r.DeliveryId).ToDictionary(g => g.Key, g => g.First());
        var suppress = new List<OutgoingMessage>();
        foreach (var m in messages)
        {
            var a = attempts[m.DeliveryId];
            var r = byId.GetValueOrDefault(m.DeliveryId) ?? new SendResult(m.DeliveryId, FailureKind.Transient, null, "no_result", "The provider returned no result for this message.");
            if (r.SuppressAddress) suppress.Add(m);
            if (r.Succeeded)
                outcomes.Add(new Outcome(m.DeliveryId, DeliveryStatus.Sent, now, r.ProviderMessageId, null, null, null, a));
            else if (r.Failure == FailureKind.Transient && a < _o.MaxAttempts)
                outcomes.Add(new Outcome(m.DeliveryId, DeliveryStatus.Pending, now + (r.RetryAfter ?? Backoff(a)), null, r.ErrorCode, Trim(r.ErrorText), "retry", a));
            else
                outcomes.Add(new Outcome(m.DeliveryId, DeliveryStatus.Failed, now, null, r.ErrorCode, Trim(r.ErrorText),
                    r.Failure == FailureKind.Transient ? "retries_exhausted" : "permanent", a));
        }
        if (suppress.Count > 0)
        {
            await SuppressAsync(suppress, now, ct);
            var bounced = suppress.Select(m => m.DeliveryId).ToHashSet();
            await CountBouncesAsync(items.Select(x => x.Row).Where(r => bounced.Contains(r.Id)), now, ct);
        }
        return outcomes;
    }

    /// <summary>base * 2^(attempt-1), +-10% jitter so retries of one batch spread out.</summary>
    private TimeSpan Backoff(int attempt) =>
        TimeSpan.FromSeconds(_o.RetryBaseSeconds * Math.Pow(2, Math.Max(0, attempt - 1)) * (0.9 + 0.2 * Random.Shared.NextDouble()));

    private static string? Trim(string? s) => s is { Length: > 1000 } ? s[..1000] : s;

    /// <summary>Waits for up to <paramref name="want"/> tokens of the campaign override and of the provider; returns how many may go now.</summary>
    private async Task<int> AcquireAsync(ChannelRoute route, RunContext ctx, int want, CancellationToken ct)
    {
        var providerLimit = new RateLimit(route.RateLimitPerSecond, route.RateLimitPerMinute);
        while (true)
        {
            var g = want;
            if (!ctx.CampaignLimit.IsUnlimited)
                g = await limiter.TryTakeAsync($"campaign:{ctx.Campaign.Id}", ctx.CampaignLimit, Math.Min(g, (int)ctx.CampaignLimit.Capacity), ct);
            if (g > 0 && !providerLimit.IsUnlimited)
            {
                // Send whatever the provider grants at once: holding partial grants until a whole chunk is gathered
                // parks tokens in every worker of every node, and the sink saw ~6% under the limit with 3 nodes.
                // Campaign tokens already taken are not given back, so with a campaign override gather them all.
                g = Math.Min(g, (int)providerLimit.Capacity);
                var need = ctx.CampaignLimit.IsUnlimited ? 1 : g;
                var got = 0;
                while (got < need)
                {
                    got += await limiter.TryTakeAsync(route.RateKey, providerLimit, g - got, ct);
                    if (got < need) await Task.Delay(Wait(providerLimit), clock, ct);
                }
                g = got;
            }
            if (g > 0) return g;
            await Task.Delay(Wait(ctx.CampaignLimit), clock, ct);
        }
    }

    private static TimeSpan Wait(RateLimit l) => TimeSpan.FromSeconds(Math.Clamp(1.0 / l.RatePerSecond, 0.005, 1));

    private (ICompiledMessage?, string?) Compile(RunContext ctx, string? variant, string channel)
    {
        try
        {
            var content = ctx.Tracking.ContentFor(variant, channel, ContentFor(ctx, variant));
            using var scope = scopes.CreateScope();
            var renderer = scope.ServiceProvider.GetRequiredService<IMessageRenderer>();
            return (renderer.Compile(channel, content), null);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Content of campaign {CampaignId} for {Channel} does not compile", ctx.Campaign.Id, channel);
            return (null, e is Common.ValidationFailedException v ? string.Join(" ", v.Errors.Select(x => $"{x.Key}: {string.Join(" ", x.Value)}")) : e.Message);
        }
    }

    /// <summary>The content a variant sends: the campaign's, with what the variant changes.</summary>
    private static ChannelContent ContentFor(RunContext ctx, string? variant)
    {
        if (variant is null || ctx.VariantContent.GetValueOrDefault(variant) is not { } vc) return ctx.Content;
        var v = JsonSerializer.Deserialize<ChannelContent>(vc.GetRawText(), RunStarter.StoredJson);
        return v is null ? ctx.Content : Merge(ctx.Content, v);
    }

    /// <summary>A variant's content replaces the campaign's per channel it names.</summary>
    private static ChannelContent Merge(ChannelContent a, ChannelContent b) => new()
    {
        Email = b.Email ?? a.Email, Sms = b.Sms ?? a.Sms, Whatsapp = b.Whatsapp ?? a.Whatsapp, Push = b.Push ?? a.Push, Webhook = b.Webhook ?? a.Webhook,
    };

    private Task<RunContext> ContextAsync(long runId, CancellationToken ct)
    {
        if (_runs.Count > 1000) _runs.Clear();
        // Loaded once for every batch of the run on this node, so not under one caller's token; a load that failed is
        // not kept (the next batch tries again).
        var lazy = _runs.GetOrAdd(runId, id => new Lazy<Task<RunContext>>(() => LoadContextAsync(id, CancellationToken.None)));
        if (lazy.Value.IsFaulted || lazy.Value.IsCanceled) _runs.TryRemove(runId, out _);
        return lazy.Value.WaitAsync(ct);
    }

    private async Task<RunContext> LoadContextAsync(long runId, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
        var run = await db.Set<CampaignRun>().AsNoTracking().FirstAsync(r => r.Id == runId, ct);
        var campaign = await db.Set<Campaign>().AsNoTracking().FirstAsync(c => c.Id == run.CampaignId, ct);
        var ws = await db.Set<Workspace>().AsNoTracking().FirstAsync(w => w.Id == run.WorkspaceId, ct);
        var content = await RunStarter.EffectiveContentAsync(db, campaign, ct);
        var ctx = new RunContext
        {
            Campaign = campaign,
            Workspace = ws,
            Zone = SendWindow.FindZone(ws.Timezone, TimeZoneInfo.Utc),
            Window = SendWindow.Parse(campaign.SendWindow),
            DailyLimits = JsonSerializer.Deserialize<Dictionary<string, int>>(string.IsNullOrWhiteSpace(ws.DailyLimits) ? "{}" : ws.DailyLimits) ?? [],
            CampaignLimit = new RateLimit(campaign.RateLimitPerSecond, campaign.RateLimitPerMinute),
            Content = content,
            Media = await scope.ServiceProvider.GetRequiredService<Assets.CampaignAssets>().LoadAsync(campaign, content, ct),
            VariantContent = RunStarter.ParseVariants(campaign.Variants).ToDictionary(v => v.Name, v => v.Content),
        };
        ctx.Tracking = await PlanTrackingAsync(scope.ServiceProvider, ctx, ct);
        return ctx;
    }

    /// <summary>
    /// Rewrites each variant's content for tracking and stores its links, once per run and node, before any of the
    /// run's messages is sent (a variant whose content does not parse is left to <see cref="Compile"/> to report).
    /// </summary>
    private static Task<Tracking.RunTracking> PlanTrackingAsync(IServiceProvider sp, RunContext ctx, CancellationToken ct)
    {
        var contents = new List<(string?, ChannelContent)> { (null, ctx.Content) };
        foreach (var name in ctx.VariantContent.Keys)
        {
            try { contents.Add((name, ContentFor(ctx, name))); }
            catch (JsonException) { }
        }
        return sp.GetRequiredService<Tracking.LinkTracker>().PlanAsync(ctx.Campaign, ctx.Workspace.Name, ctx.Media.Product, contents, ct);
    }

    /// <summary>Adds addresses the provider rejected for good to the suppression list (one statement).</summary>
    private async Task SuppressAsync(List<OutgoingMessage> messages, DateTime now, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
        var sb = new StringBuilder("INSERT INTO suppression (workspace_id, channel, address, reason, created_at) VALUES ");
        var ps = new List<(string, object?)> { ("now", Sql.Time(db, now)) };
        for (var i = 0; i < messages.Count; i++)
        {
            sb.Append(i == 0 ? "" : ", ").Append($"(@w{i}, @c{i}, @a{i}, 'provider', @now)");
            ps.Add(($"w{i}", messages[i].WorkspaceId)); ps.Add(($"c{i}", messages[i].Channel)); ps.Add(($"a{i}", messages[i].Address));
        }
        sb.Append(" ON CONFLICT (workspace_id, channel, address) DO NOTHING");
        await Sql.ExecAsync(db, sb.ToString(), ct, ps.ToArray());
    }

    // ---------------------------------------------------------------- record

    private sealed record RunCounters(long Id, long WorkspaceId, long CampaignId, string Status, string? Reason, int Total, int Pending, int Sent, int Failed, int Skipped, int Unknown);

    private const string RunCounterColumns = "id, workspace_id, campaign_id, status, status_reason, total, pending, sent, failed, skipped, unknown";

    private static RunCounters ReadCounters(DbDataReader r) => new(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetString(3), r.NullableString(4),
        r.GetInt32(5), r.GetInt32(6), r.GetInt32(7), r.GetInt32(8), r.GetInt32(9), r.GetInt32(10));

    /// <summary>
    /// DeliveryRecordResults (PostgreSQL): one statement per batch. Rows are written only while this node
    /// still holds their lease (a reclaimed row is not overwritten), and the run counters move by exactly the
    /// rows written, in the same statement, so counters always equal the rows. The per-variant and per-minute
    /// counters (<see cref="Tracking.RunStats"/>) move in the same statement from the same written rows: one round
    /// trip instead of two, and a row whose lease was lost is not counted there either. Lock order matches
    /// RunStats.ApplyAsync: campaign_run (the main UPDATE), then run_variant_stat, then run_minute_stat (CTEs the
    /// main query does not read run after it).
    /// A batch claimed by range (@lease &gt; 0) is written only if its lease row is still this node's:
    /// the statement deletes it, so a lease the sweep took first (it expired) leaves the rows to the crash policy, and
    /// the rows are the range's first-pass rows still pending. A row that settles or goes back to the queue leaves the
    /// first pass for good.
    /// </summary>
    private const string RecordPostgres = """
        WITH l AS (
            DELETE FROM delivery_lease WHERE id = @lease AND owner = @owner RETURNING id
        ), v AS (
            SELECT * FROM unnest(@ids, @st, @nx, @pm, @code, @txt, @reason, @att) AS v(id, st, nx, pm, code, txt, reason, att)
        ), upd AS (
            UPDATE delivery d SET status = v.st, lease_owner = NULL, lease_until = NULL, next_attempt_at = v.nx, attempts = v.att, first_pass = false,
                sent_at = CASE WHEN v.st = 'sent' THEN @now ELSE d.sent_at END,
                finished_at = CASE WHEN v.st = 'pending' THEN NULL ELSE @now END,
                provider_message_id = COALESCE(v.pm, d.provider_message_id), error_code = v.code, error_text = v.txt, reason = v.reason
            FROM v
            WHERE d.id = v.id AND CASE WHEN @lease = 0 THEN d.status = 'sending' AND d.lease_owner = @owner
                                       ELSE d.status = 'pending' AND d.first_pass AND EXISTS (SELECT 1 FROM l) END
            RETURNING d.run_id, d.status, d.reason, d.variant
        ), vstat AS (
            INSERT INTO run_variant_stat (run_id, variant, total, skipped, sent, delivered, failed, bounced, opened, clicked, converted, unsubscribed, conversion_value)
            SELECT run_id, variant, 0, COUNT(*) FILTER (WHERE status = 'skipped'), COUNT(*) FILTER (WHERE status = 'sent'), 0,
                   COUNT(*) FILTER (WHERE status = 'failed'), 0, 0, 0, 0, 0, 0
            FROM upd WHERE variant IS NOT NULL AND status IN ('sent', 'failed', 'skipped') GROUP BY run_id, variant ORDER BY run_id, variant
            ON CONFLICT (run_id, variant) DO UPDATE SET skipped = run_variant_stat.skipped + excluded.skipped,
                sent = run_variant_stat.sent + excluded.sent, failed = run_variant_stat.failed + excluded.failed
        ), mstat AS (
            INSERT INTO run_minute_stat (run_id, minute, sent, delivered, failed, opened, clicked, converted, unsubscribed)
            SELECT run_id, @minute, COUNT(*) FILTER (WHERE status = 'sent'), 0, COUNT(*) FILTER (WHERE status = 'failed'), 0, 0, 0, 0
            FROM upd WHERE status IN ('sent', 'failed') GROUP BY run_id ORDER BY run_id
            ON CONFLICT (run_id, minute) DO UPDATE SET sent = run_minute_stat.sent + excluded.sent, failed = run_minute_stat.failed + excluded.failed
        ), agg AS (
            SELECT run_id, COUNT(*) FILTER (WHERE status <> 'pending') AS done, COUNT(*) FILTER (WHERE status = 'sent') AS sent,
                   COUNT(*) FILTER (WHERE reason = 'daily_limit') AS limited,
                   COUNT(*) FILTER (WHERE status = 'failed') AS failed, COUNT(*) FILTER (WHERE status = 'skipped') AS skipped
            FROM upd GROUP BY run_id
        )
        UPDATE campaign_run r SET pending = r.pending - agg.done, sent = r.sent + agg.sent, failed = r.failed + agg.failed,
            skipped = r.skipped + agg.skipped,
            status_reason = CASE WHEN agg.sent > 0 AND agg.limited = 0 AND r.status_reason = 'paused: daily limit' THEN NULL ELSE r.status_reason END
        FROM agg WHERE r.id = agg.run_id
        RETURNING r.id, r.workspace_id, r.campaign_id, r.status, r.status_reason, r.total, r.pending, r.sent, r.failed, r.skipped, r.unknown
        """;

    /// <summary>DeliveryRecordResults (SQLite): one UPDATE ... FROM json_each(batch), then the counters, in one transaction.</summary>
    private const string RecordSqlite = """
        UPDATE delivery SET status = v.st, lease_owner = NULL, lease_until = NULL, next_attempt_at = v.nx, attempts = v.att,
            sent_at = CASE WHEN v.st = 'sent' THEN @now ELSE delivery.sent_at END,
            finished_at = CASE WHEN v.st = 'pending' THEN NULL ELSE @now END,
            provider_message_id = COALESCE(v.pm, delivery.provider_message_id), error_code = v.code, error_text = v.txt, reason = v.reason
        FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS st, json_extract(value, '$[2]') AS nx,
                     json_extract(value, '$[3]') AS pm, json_extract(value, '$[4]') AS code, json_extract(value, '$[5]') AS txt,
                     json_extract(value, '$[6]') AS reason, json_extract(value, '$[7]') AS att
              FROM json_each(@batch)) AS v
        WHERE delivery.id = v.id AND delivery.status = 'sending' AND delivery.lease_owner = @owner
        RETURNING run_id, status, reason
        """;

    private async Task RecordAsync(HeraldDb db, List<Outcome> outcomes, long lease, CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        List<RunCounters> runs;
        if (db.IsPostgres)
        {
            runs = await Sql.QueryAsync(db, RecordPostgres, ReadCounters, ct,
                ("ids", outcomes.Select(o => o.Id).ToArray()), ("st", outcomes.Select(o => o.Status).ToArray()),
                ("nx", outcomes.Select(o => o.NextAt).ToArray()), ("pm", outcomes.Select(o => o.ProviderMessageId).ToArray()),
                ("code", outcomes.Select(o => o.Code).ToArray()), ("txt", outcomes.Select(o => o.Text).ToArray()),
                ("reason", outcomes.Select(o => o.Reason).ToArray()), ("att", outcomes.Select(o => o.Attempts).ToArray()),
                ("now", now), ("minute", Tracking.RunStats.Minute(now)), ("owner", Node), ("lease", lease));
        }
        else
        {
            var buffer = new MemoryStream();
            await using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartArray();
                foreach (var o in outcomes)
                {
                    w.WriteStartArray();
                    w.WriteNumberValue(o.Id); w.WriteStringValue(o.Status); w.WriteStringValue(Sql.SqliteTime(o.NextAt));
                    WriteNullable(w, o.ProviderMessageId); WriteNullable(w, o.Code); WriteNullable(w, o.Text); WriteNullable(w, o.Reason);
                    w.WriteNumberValue(o.Attempts);
                    w.WriteEndArray();
                }
                w.WriteEndArray();
            }
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var written = await Sql.QueryAsync(db, RecordSqlite, r => (Run: r.GetInt64(0), Status: r.GetString(1), Reason: r.NullableString(2)), ct,
                ("batch", Encoding.UTF8.GetString(buffer.ToArray())), ("now", Sql.SqliteTime(now)), ("owner", Node));
            runs = [];
            foreach (var g in written.GroupBy(x => x.Run))
            {
                var sent = g.Any(x => x.Reason == "daily_limit") ? 0 : g.Count(x => x.Status == DeliveryStatus.Sent);
                runs.AddRange(await Sql.QueryAsync(db, $"""
                    UPDATE campaign_run SET pending = pending - @done, sent = sent + @sent_all, failed = failed + @failed, skipped = skipped + @skipped,
                        status_reason = CASE WHEN @sent > 0 AND status_reason = 'paused: daily limit' THEN NULL ELSE status_reason END
                    WHERE id = @r RETURNING {RunCounterColumns}
                    """, ReadCounters, ct, ("done", g.Count(x => x.Status != DeliveryStatus.Pending)), ("sent", sent), ("sent_all", g.Count(x => x.Status == DeliveryStatus.Sent)),
                    ("failed", g.Count(x => x.Status == DeliveryStatus.Failed)), ("skipped", g.Count(x => x.Status == DeliveryStatus.Skipped)), ("r", g.Key)));
            }
            await tx.CommitAsync(ct);
        }
        await ObserveAsync(db, runs, now, ct);
    }

    private static void WriteNullable(Utf8JsonWriter w, string? s)
    {
        if (s is null) w.WriteNullValue(); else w.WriteStringValue(s);
    }

    /// <summary>
    /// SQLite: the batch's settled rows into the per-variant and per-minute counters (stats timeline, A/B figures): one upsert
    /// per run, variant and minute. After the record statement, not in it: a lost lease (rare) may count a row twice here
    /// (one process owns a SQLite file, so a lease is lost only when a batch outlives it). PostgreSQL does this inside
    /// <see cref="RecordPostgres"/>.
    /// </summary>
    private static Task RecordRunStatsAsync(HeraldDb db, List<Claimed> claimed, List<Outcome> outcomes, CancellationToken ct)
    {
        var rows = claimed.ToDictionary(c => c.Id);
        // A settled outcome's NextAt is the time it settled (the engine's clock).
        return Tracking.RunStats.ApplyAsync(db, outcomes.Where(o => o.Status is DeliveryStatus.Sent or DeliveryStatus.Failed or DeliveryStatus.Skipped)
            .Select(o => new Tracking.StatDelta(rows[o.Id].RunId, rows[o.Id].Variant, o.NextAt)
            {
                Sent = o.Status == DeliveryStatus.Sent ? 1 : 0, Failed = o.Status == DeliveryStatus.Failed ? 1 : 0, Skipped = o.Status == DeliveryStatus.Skipped ? 1 : 0,
            }), Tracking.StatParts.Breakdown, ct);
    }

    /// <summary>Hard bounces (the provider asked to suppress the address) into the run's and variant's bounced counters.</summary>
    private async Task CountBouncesAsync(IEnumerable<Claimed> bounced, DateTime now, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
        await Tracking.RunStats.ApplyAsync(db, bounced.Select(r => new Tracking.StatDelta(r.RunId, r.Variant, now) { Bounced = 1 }), Tracking.StatParts.All, ct);
    }

    /// <summary>Publishes progress from the counters just returned; only a finished or failing run costs another query.</summary>
    private async Task ObserveAsync(HeraldDb db, List<RunCounters> runs, DateTime now, CancellationToken ct)
    {
        var o = _o;
        var check = runs.Where(r => r.Pending <= 0 || (r.Sent + r.Failed >= o.AutoPauseMinSample && r.Failed > o.AutoPauseFailureShare * (r.Sent + r.Failed)))
            .Select(r => r.Id).ToList();
        if (check.Count > 0) await completion.CheckRunsAsync(db, check, ct);
        foreach (var r in runs.Where(r => !check.Contains(r.Id)))
            completion.Publish(new RunProgress(r.WorkspaceId, r.CampaignId, r.Id, r.Status, r.Reason, r.Total, r.Pending, r.Sent, r.Failed, r.Skipped, r.Unknown, now));
    }

    // ---------------------------------------------------------------- sweep

    /// <summary>
    /// DeliveryReclaimExpired: a row still 'sending' past its lease belonged to a node that died (or stalled).
    /// Its outcome is unknown, so the channel's crash policy decides: at_most_once -> 'unknown' (final, counted),
    /// at_least_once -> pending again. The partial index on lease_until (leased rows only) keeps it cheap.
    /// </summary>
    private static readonly string ReclaimSql = $"""
        UPDATE delivery SET
            status = {CrashStatusSql("delivery")},
            reason = 'lease_expired', lease_owner = NULL, lease_until = NULL, next_attempt_at = @now, first_pass = false
        WHERE status = 'sending' AND lease_until < @now
        RETURNING run_id, status
        """;

    /// <summary>
    /// What a delivery that was in flight when its lease expired becomes, by its channel's crash policy (the channel
    /// config's, else at_most_once for sms and whatsapp, at_least_once for the rest): 'unknown' or 'pending' again.
    /// </summary>
    private static string CrashStatusSql(string d) => $"""
        CASE WHEN COALESCE((SELECT cc.crash_policy FROM channel_config cc WHERE cc.id = {d}.channel_config_id),
                           CASE WHEN {d}.channel IN ('sms', 'whatsapp') THEN 'at_most_once' ELSE 'at_least_once' END) = 'at_most_once'
             THEN 'unknown' ELSE 'pending' END
        """;

    /// <summary>
    /// DeliveryReclaimExpiredRanges (PostgreSQL): a first-pass range lease past its time belonged to a node that died
    /// (or stalled). Deleting it takes the range from its owner (its record statement deletes the same row, so exactly
    /// one of the two gets it); the range's rows still pending in the first pass were in flight and follow the crash
    /// policy as a leased row does (<see cref="ReclaimRangeSql"/>, one statement per lease, in the sweep's transaction).
    /// </summary>
    private const string ExpiredRangesSql = "DELETE FROM delivery_lease WHERE lease_until < @now RETURNING run_id, first_id, last_id";

    /// <summary>
    /// One expired range's rows. A requeued row counts the lost try as an attempt, as a row-by-row claim does. The
    /// bounds are parameters and <c>run_id + 0</c> keeps the run's index out, so this walks the primary key over the
    /// range only (joined to the deleted leases, PostgreSQL chose a sequential scan of the whole table: 0.5 s a sweep).
    /// </summary>
    private static readonly string ReclaimRangeSql = $"""
        UPDATE delivery d SET
            status = {CrashStatusSql("d")},
            first_pass = false, attempts = d.attempts + 1, reason = 'lease_expired', next_attempt_at = @now
        WHERE d.id BETWEEN @first AND @last AND d.run_id + 0 = @run AND d.status = 'pending' AND d.first_pass
        RETURNING d.run_id, d.status
        """;

    /// <summary>
    /// DeliverySkipCancelled: pending deliveries of cancelled runs end as skipped 'cancelled' (visible, counted); a
    /// first-pass range still being sent is left to its worker (a cancelled run gets no new range: the claim needs it running).
    /// </summary>
    private static readonly string SkipCancelledSql = $"""
        UPDATE delivery SET status = 'skipped', reason = 'cancelled', finished_at = @now
        WHERE status = 'pending' AND run_id IN (SELECT id FROM campaign_run WHERE status = 'cancelled' AND pending > 0)
          AND {DeliveryLease.NotLeasedSql("delivery")}
        RETURNING run_id, status
        """;

    /// <summary>Reclaims expired leases and closes cancelled runs; run by every worker node every few seconds.</summary>
    public async Task<SweepResult> SweepAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
        var now = clock.GetUtcNow().UtcDateTime;
        int requeued = 0, unknown = 0, cancelled = 0;
        var touched = new List<long>();
        Task<List<(long? Run, string Status)>> Rows(string sql, params (string, object?)[] ps) =>
            Sql.QueryAsync(db, sql, r => (Run: r.NullableLong(0), Status: r.GetString(1)), ct, ps);
        async Task<List<(long? Run, string Status)>> ReclaimRangesAsync()
        {
            var rows = new List<(long? Run, string Status)>();
            foreach (var (run, first, last) in await Sql.QueryAsync(db, ExpiredRangesSql, r => (r.GetInt64(0), r.GetInt64(1), r.GetInt64(2)), ct, ("now", now)))
                rows.AddRange(await Rows(ReclaimRangeSql, ("now", now), ("first", first), ("last", last), ("run", run)));
            return rows;
        }
        // Nothing cancelled (the usual case): no UPDATE, whose plan is a scan of every pending delivery (first-pass
        // rows are not in the pending index): 50 ms a sweep at 1M pending.
        async Task<List<(long? Run, string Status)>> SkipCancelledAsync() =>
            (await Sql.QueryAsync(db, "SELECT 1 FROM campaign_run WHERE status = 'cancelled' AND pending > 0 LIMIT 1", r => 1, ct)).Count == 0
                ? [] : await Rows(SkipCancelledSql, ("now", Sql.Time(db, now)));
        var steps = new List<(Func<Task<List<(long? Run, string Status)>>> Run, bool IsCancel)> { (() => Rows(ReclaimSql, ("now", Sql.Time(db, now))), false) };
        if (db.IsPostgres) steps.Add((ReclaimRangesAsync, false));
        steps.Add((SkipCancelledAsync, true));
        foreach (var (step, isCancel) in steps)
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var rows = await step();
            foreach (var g in rows.Where(r => r.Run is not null).GroupBy(r => r.Run!.Value))
            {
                var unk = g.Count(x => x.Status == DeliveryStatus.Unknown);
                var skipped = g.Count(x => x.Status == DeliveryStatus.Skipped);
                if (unk + skipped > 0)
                    await Sql.ExecAsync(db, "UPDATE campaign_run SET pending = pending - @n, unknown = unknown + @u, skipped = skipped + @s WHERE id = @r",
                        ct, ("n", unk + skipped), ("u", unk), ("s", skipped), ("r", g.Key));
                touched.Add(g.Key);
            }
            await tx.CommitAsync(ct);
            if (isCancel) cancelled += rows.Count;
            else
            {
                unknown += rows.Count(r => r.Status == DeliveryStatus.Unknown);
                requeued += rows.Count(r => r.Status == DeliveryStatus.Pending);
            }
        }
        if (touched.Count > 0)
        {
            log.LogInformation("Sweep: {Requeued} requeued and {Unknown} marked unknown after lease expiry, {Cancelled} skipped as cancelled", requeued, unknown, cancelled);
            await completion.CheckRunsAsync(db, touched, ct);
        }
        return new SweepResult(requeued, unknown, cancelled);
    }
}
