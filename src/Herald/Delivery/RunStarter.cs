using System.Globalization;
using System.Text;
using System.Text.Json;
using Herald.Audience;
using Herald.Campaigns;
using Herald.Channels;
using Herald.Storage;
using Herald.Templates;
using Herald.Tracking;
using Herald.Workspaces;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Herald.Delivery;

/// <summary>
/// Starts a run: materializes its audience into delivery rows with one set-based INSERT ... SELECT per
/// channel, then marks the run running and wakes the workers. Idempotent: UNIQUE (run_id, contact_id,
/// channel) plus ON CONFLICT DO NOTHING make a second start a no-op, and only a scheduled/starting run moves.
/// </summary>
public sealed class RunStarter(HeraldDb db, IAudienceQuery audience, ChannelRouter router, DeliverySignal signal,
    DeliveryCompletion completion, IOptions<DeliveryOptions> options, TimeProvider clock, ILogger<RunStarter> log) : IRunStarter
{
    private readonly int chunkSize = options.Value.MaterializeChunk;

    /// <summary>Runs at least this large refresh the delivery table's planner statistics when they start.</summary>
    private const int AnalyzeThreshold = 10_000;

    /// <summary>The due time of A/B held-back deliveries: never, until the decider gives them the winner.</summary>
    internal static readonly DateTime HeldUntil = new(9999, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    internal static readonly JsonSerializerOptions StoredJson = new(JsonSerializerDefaults.Web);

    public Task StartAsync(long runId, CancellationToken ct) => StartAsync(runId, int.MaxValue, ct);

    /// <summary>
    /// <paramref name="maxChunks"/>: stop after this many committed chunks, as a node that dies midway does (tests).
    /// </summary>
    internal async Task StartAsync(long runId, int maxChunks, CancellationToken ct)
    {
        var run = await db.Set<CampaignRun>().AsNoTracking().FirstOrDefaultAsync(r => r.Id == runId, ct)
            ?? throw new InvalidOperationException($"Run {runId} does not exist.");
        if (run.Status is not (RunStatus.Scheduled or RunStatus.Starting)) return;
        var campaign = await db.Set<Campaign>().AsNoTracking().FirstAsync(c => c.Id == run.CampaignId, ct);
        var ws = await db.Set<Workspace>().AsNoTracking().FirstAsync(w => w.Id == run.WorkspaceId, ct);
        var now = clock.GetUtcNow().UtcDateTime;

        var definition = JsonSerializer.Deserialize<AudienceDefinition>(campaign.Audience, StoredJson) ?? new AudienceDefinition();
        var fragment = await audience.CompileAsync(ws.Id, definition, ct);
        var channels = campaign.Channels.Where(ChannelNames.IsKnown).Distinct().ToList();
        if (channels.Count == 0) throw new InvalidOperationException($"Campaign {campaign.Id} has no channel.");
        var configIds = new Dictionary<string, long?>();
        foreach (var ch in channels) configIds[ch] = await router.DefaultConfigIdAsync(db, ws.Id, ch, now, ct);
        var content = await EffectiveContentAsync(db, campaign, ct);
        var abPhase = ParseVariants(campaign.Variants).Count >= 2 ? AbTestDefinition.Parse(campaign.AbTest) : null;
        // Most workspaces have no suppressions on a channel: then the per-recipient probe is left out of the plan.
        var suppressions = await db.Set<Suppression>().AnyAsync(s => s.WorkspaceId == ws.Id && channels.Contains(s.Channel), ct);
        var plan = new Plan(run, campaign, ws, fragment, channels, configIds, content, suppressions, abPhase, now);

        var started = System.Diagnostics.Stopwatch.StartNew();
        if (db.IsPostgres) await AnalyzeStaleAudienceTablesAsync(ct);
        // PostgreSQL materializes a run with no deliveries yet (every start but one that follows journey sends into the
        // same run) in chunks, and resumes one whose chunked start died midway.
        var inserted = db.IsPostgres && (run.Materializing || !await db.Set<DeliveryRow>().AnyAsync(d => d.RunId == runId, ct))
            ? await StartInChunksAsync(plan, maxChunks, ct)
            : await StartInOneAsync(plan, ct);
        if (inserted is null) return;
        // DeliveryAnalyze: a large run changes the delivery table's shape at once; until autovacuum gets to it
        // the planner walks the claim query with stale statistics (measured: 4k msg/s for the first minute of a
        // 1M run, 18k/s after autovacuum's analyze). Refresh them now; it samples, so it takes well under a second.
        if (db.IsPostgres && inserted >= AnalyzeThreshold) await db.Database.ExecuteSqlRawAsync("ANALYZE delivery", ct);
        log.LogInformation("Run {RunId} of campaign {CampaignId}: {Inserted} deliveries materialized in {Seconds:F2} s", runId, campaign.Id, inserted, started.Elapsed.TotalSeconds);
        await signal.NotifyAsync(db, ct);
        await completion.CheckRunsAsync(db, [runId], ct);
    }

    /// <summary>Everything a start needs to write a run's deliveries, read once.</summary>
    private sealed record Plan(CampaignRun Run, Campaign Campaign, Workspace Ws, SqlFragment Audience, List<string> Channels,
        Dictionary<string, long?> ConfigIds, ChannelContent Content, bool Suppressions, AbTestDefinition? AbPhase, DateTime Now);

    /// <summary>
    /// The run's deliveries, per channel (or one fallback statement): for the contacts with ids in (lo, hi] when
    /// chunked (a chunk of a run with no deliveries before it), else for the whole audience.
    /// </summary>
    private async Task<List<Inserted>> InsertAllAsync(Plan p, (long Lo, long Hi)? chunk, CancellationToken ct)
    {
        if (p.Campaign.ChannelMode == "fallback") return await InsertAsync(p, p.Channels, fallback: true, chunk, ct);
        var blocks = new List<Inserted>();
        foreach (var ch in p.Channels) blocks.AddRange(await InsertAsync(p, [ch], fallback: false, chunk, ct));
        return blocks;
    }

    /// <summary>
    /// RunStartInOne (SQLite, and a PostgreSQL run that already has deliveries): one transaction inserts the whole
    /// audience (ON CONFLICT DO NOTHING: a second start adds nothing) and sets the counters from the run's rows, so
    /// a repeated start cannot double them; the run goes running when it commits. Null: nothing left to start.
    /// </summary>
    private async Task<int?> StartInOneAsync(Plan p, CancellationToken ct)
    {
        var runId = p.Run.Id;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (await LockRunStartAsync(runId, ct) is null) return null;
        var inserted = (await InsertAllAsync(p, null, ct)).Sum(b => b.Count);
        var counts = await Sql.QueryAsync(db, "SELECT variant, status, COUNT(*) FROM delivery WHERE run_id = @r GROUP BY variant, status",
            r => (Variant: r.NullableString(0), Status: r.GetString(1), Count: Convert.ToInt32(r.GetValue(2))), ct, ("r", runId));
        int Count(params string[] s) => counts.Where(c => s.Contains(c.Status)).Sum(c => c.Count);
        var abTest = AbState(p);
        // The counters are set even if the run was paused or cancelled while this transaction wrote its rows (it then
        // stays paused or cancelled): the rows are committed with them, and a resumed run must find its counters.
        var rows = await Sql.QueryAsync(db, $"""
            UPDATE campaign_run SET status = CASE WHEN status IN ('scheduled', 'starting') THEN 'running' ELSE status END,
                started_at = COALESCE(started_at, @now), total = @total,
                pending = @pending, skipped = @skipped, sent = @sent, failed = @failed, unknown = @unknown,
                ab_decision = COALESCE({(db.IsPostgres ? "CAST(@ab AS jsonb)" : "@ab")}, ab_decision), ab_decide_at = @ab_at
            WHERE id = @r AND status IN ('scheduled', 'starting', 'paused', 'cancelled')
            RETURNING status
            """, r => r.GetString(0), ct, ("now", Sql.Time(db, p.Now)), ("total", counts.Sum(c => c.Count)),
            ("pending", Count(DeliveryStatus.Pending, DeliveryStatus.Sending)), ("skipped", Count(DeliveryStatus.Skipped)),
            ("sent", Count(DeliveryStatus.Sent, DeliveryStatus.Delivered, DeliveryStatus.Read)), ("failed", Count(DeliveryStatus.Failed)),
            ("unknown", Count(DeliveryStatus.Unknown)), ("ab", abTest?.ToJson()), ("ab_at", abTest is null ? null : Sql.Time(db, abTest.DecideAt)), ("r", runId));
        if (rows.Count == 1) await VariantCountersAsync(runId, counts, p.Now, ct);
        await tx.CommitAsync(ct);
        return rows is [RunStatus.Running] ? inserted : null;
    }

    /// <summary>
    /// RunStartInChunks (PostgreSQL, a run with no deliveries yet): the audience is written in chunks of contact ids
    /// (<see cref="DeliveryOptions.MaterializeChunk"/>, the first a quarter of it), each in its own transaction that also
    /// moves the run's counters by what it inserted (counted from RETURNING), extends the run's first pass and records
    /// how far it got. Workers send a run's first pass while it is still starting, so the first messages leave
    /// after the first chunk instead of after the whole audience; the run cannot complete while
    /// <see cref="CampaignRun.Materializing"/>. The last chunk moves the run to running. Each chunk holds the run's
    /// start lock and re-reads how far the run got, so two nodes starting one run (a lease passed while the first
    /// was slow) write each chunk once; a start that died midway is resumed from <see cref="CampaignRun.MaterializedThrough"/>.
    /// A run paused meanwhile is still materialized whole (its resume must find every recipient); a cancelled one stops.
    /// Null: nothing left to start.
    /// </summary>
    private async Task<int?> StartInChunksAsync(Plan p, int maxChunks, CancellationToken ct)
    {
        var runId = p.Run.Id;
        var bounds = await Sql.QueryAsync(db, "SELECT MIN(id), MAX(id) FROM contact WHERE workspace_id = @ws",
            r => (Min: r.NullableLong(0) ?? 0, Max: r.NullableLong(1) ?? 0), ct, ("ws", p.Ws.Id));
        var (minId, maxId) = bounds[0];
        var chunk = (long)Math.Max(1, chunkSize);
        var inserted = 0;
        for (var done = 0; ; done++)
        {
            if (done >= maxChunks) return null;
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var state = await LockRunStartAsync(runId, ct, chunked: true);
            if (state is null) return null;
            var first = state.MaterializedThrough == 0;
            var lo = first ? Math.Max(0, minId - 1) : state.MaterializedThrough;
            var hi = Math.Min(maxId, lo + (first ? Math.Max(1, chunk / 4) : chunk));
            var last = hi >= maxId;
            var blocks = await InsertAllAsync(p, (lo, hi), ct);
            inserted += blocks.Sum(b => b.Count);
            int Count(string s) => blocks.Where(b => b.Status == s).Sum(b => b.Count);
            var firstIds = blocks.Where(b => b.FirstId is not null).ToList();
            var abTest = first ? AbState(p) : null;
            // The first pass is one id range: chunks take ids from the sequence in order, one at a time under the lock.
            await Sql.ExecAsync(db, """
                UPDATE campaign_run SET total = total + @total, pending = pending + @pending, skipped = skipped + @skipped,
                    range_cursor = CASE WHEN range_last = 0 AND @first_id > 0 THEN @first_id - 1 ELSE range_cursor END,
                    range_last = GREATEST(range_last, @last_id),
                    materialized_through = @hi, materializing = NOT @last,
                    status = CASE WHEN @last AND status IN ('scheduled', 'starting') THEN 'running' WHEN status = 'scheduled' THEN 'starting' ELSE status END,
                    started_at = COALESCE(started_at, @now),
                    ab_decision = COALESCE(CAST(@ab AS jsonb), ab_decision), ab_decide_at = COALESCE(@ab_at, ab_decide_at)
                WHERE id = @r
                """, ct, ("total", blocks.Sum(b => b.Count)), ("pending", Count(DeliveryStatus.Pending)), ("skipped", Count(DeliveryStatus.Skipped)),
                ("first_id", firstIds.Count == 0 ? 0L : firstIds.Min(b => b.FirstId!.Value)), ("last_id", firstIds.Count == 0 ? 0L : firstIds.Max(b => b.LastId!.Value)),
                ("hi", Math.Max(hi, 1)), ("last", last), ("now", p.Now), ("ab", abTest?.ToJson()), ("ab_at", abTest?.DecideAt), ("r", runId));
            await VariantCountersAsync(runId, blocks.Select(b => (b.Variant, b.Status, b.Count)).ToList(), p.Now, ct);
            await tx.CommitAsync(ct);
            if (last) return inserted;
            if (!first) continue;
            // Wake the workers as soon as the first pass has rows.
            if (firstIds.Count > 0) await signal.NotifyAsync(db, ct);
            // DeliveryAnalyze, early: the workers start on this chunk, and with the statistics of a table that had none
            // of the run's rows the record statement was planned as a sequential scan of the table per batch.
            if (maxId - minId >= AnalyzeThreshold) await db.Database.ExecuteSqlRawAsync("ANALYZE delivery", ct);
        }
    }

    private static AbTestState? AbState(Plan p) => p.AbPhase is not { } ab ? null
        : new AbTestState(AbTestState.Testing, ab.Metric, ab.TestPercent, ab.WaitFor, p.Now + ab.Wait);

    /// <summary>Advisory lock namespace of run starts ("HRLD"); the second key is the run id.</summary>
    private const int RunStartLockSpace = 0x48524C44;

    /// <summary>Where a run's start stands, read under its start lock.</summary>
    private sealed record StartState(string Status, bool Materializing, long MaterializedThrough);

    /// <summary>
    /// RunStartLock: one node at a time materializes a run (a chunk at a time when chunked). A node whose start lease
    /// passed while it was alive but slow, and the node that claimed the run after it, would otherwise both scan the
    /// audience; the second waits here (the lock is the transaction's, so a dead node's goes with its connection) and
    /// then finds the run already running, or the chunks already written. On SQLite the transaction's write lock does
    /// the same. Null: nothing left to start (a chunked start of a run that was cancelled meanwhile stops here and
    /// says so on the run: no longer materializing).
    /// </summary>
    private async Task<StartState?> LockRunStartAsync(long runId, CancellationToken ct, bool chunked = false)
    {
        if (db.IsPostgres)
            await Sql.ExecAsync(db, "SELECT pg_advisory_xact_lock(@space, @run)", ct, ("space", RunStartLockSpace), ("run", (int)(runId & int.MaxValue)));
        var rows = await Sql.QueryAsync(db, "SELECT status, materializing, materialized_through FROM campaign_run WHERE id = @r",
            r => new StartState(r.GetString(0), r.GetBoolean(1), r.GetInt64(2)), ct, ("r", runId));
        if (rows is not [var s]) return null;
        if (s.Status is RunStatus.Scheduled or RunStatus.Starting || (chunked && s.Materializing && s.Status == RunStatus.Paused)) return s;
        if (chunked && s.Materializing)
            await Sql.ExecAsync(db, "UPDATE campaign_run SET materializing = false WHERE id = @r", ct, ("r", runId));
        return null;
    }

    /// <summary>
    /// ContactAnalyzeStale: the audience tables' planner statistics are refreshed before materializing when they
    /// were never taken or a fifth of the rows changed since. Right after a bulk import (a new install, a cluster's
    /// first campaign) PostgreSQL has no statistics for <c>contact</c>, estimates the audience at one row and plans
    /// RunMaterialize as a nested loop that rescans the workspace's contacts per contact: measured 63 s for 12,000
    /// contacts, 0.3 s once analyzed. Autovacuum only gets to it within a minute (naptime), which is why the first
    /// campaign after a start was ~60 s late and the next ones were not. ANALYZE samples (30,000 rows), so it costs
    /// well under a second even for millions of contacts, and only when the statistics are stale.
    /// </summary>
    private async Task AnalyzeStaleAudienceTablesAsync(CancellationToken ct)
    {
        var stale = await Sql.QueryAsync(db, """
            SELECT relname FROM pg_stat_user_tables
            WHERE relname IN ('contact', 'contact_list_member') AND schemaname = current_schema()
              AND ((last_analyze IS NULL AND last_autoanalyze IS NULL AND n_live_tup + n_mod_since_analyze > 0)
                   OR n_mod_since_analyze > 1000 + n_live_tup / 5)
            """, r => r.GetString(0), ct);
        foreach (var table in stale)
        {
            log.LogInformation("Refreshing planner statistics of {Table} before materializing (stale after bulk changes)", table);
            await db.Database.ExecuteSqlRawAsync(table == "contact" ? "ANALYZE contact" : "ANALYZE contact_list_member", ct);
        }
    }

    /// <summary>Per-variant totals of a run that just started (A/B figures and per-variant stats move from here).</summary>
    private Task VariantCountersAsync(long runId, List<(string? Variant, string Status, int Count)> counts, DateTime now, CancellationToken ct) =>
        RunStats.ApplyAsync(db, counts.Where(c => c.Variant is not null).GroupBy(c => c.Variant).Select(g => new StatDelta(runId, g.Key, now)
        {
            Total = g.Sum(c => c.Count), Skipped = g.Where(c => c.Status == DeliveryStatus.Skipped).Sum(c => c.Count),
        }), StatParts.Variant, ct);

    /// <summary>
    /// The content a campaign sends: its inline content, with the channels it leaves empty taken from its
    /// template (<c>templateId</c>).
    /// </summary>
    internal static async Task<ChannelContent> EffectiveContentAsync(HeraldDb db, Campaign campaign, CancellationToken ct)
    {
        var inline = ParseContent(campaign.Content);
        if (campaign.TemplateId is not { } templateId) return inline;
        var json = await db.Set<Template>().AsNoTracking()
            .Where(t => t.Id == templateId && t.WorkspaceId == campaign.WorkspaceId).Select(t => t.Content).FirstOrDefaultAsync(ct);
        var template = ParseContent(json);
        return new ChannelContent
        {
            Email = inline.Email ?? template.Email, Sms = inline.Sms ?? template.Sms, Whatsapp = inline.Whatsapp ?? template.Whatsapp,
            Push = inline.Push ?? template.Push, Webhook = inline.Webhook ?? template.Webhook,
        };
    }

    internal static ChannelContent ParseContent(string? json) =>
        string.IsNullOrWhiteSpace(json) ? new ChannelContent() : JsonSerializer.Deserialize<ChannelContent>(json, StoredJson) ?? new ChannelContent();

    internal sealed record VariantSpec(string Name, double Weight, JsonElement? Content);

    internal static List<VariantSpec> ParseVariants(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return [];
        using var doc = JsonDocument.Parse(json);
        if (doc.RootElement.ValueKind != JsonValueKind.Array) return [];
        var list = new List<VariantSpec>();
        foreach (var v in doc.RootElement.EnumerateArray())
        {
            var name = v.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "";
            var weight = v.TryGetProperty("weight", out var w) && w.TryGetDouble(out var d) ? d : 1;
            JsonElement? c = v.TryGetProperty("content", out var ce) && ce.ValueKind == JsonValueKind.Object ? ce.Clone() : null;
            if (name.Length > 0 && weight > 0) list.Add(new VariantSpec(name, weight, c));
        }
        return list;
    }

    /// <summary>
    /// A/B variant by weight from a multiplicative hash of the contact id (Knuth): the same contact always
    /// gets the same variant, with no random state, in plain SQL both providers run.
    /// </summary>
    internal static string VariantSql(List<VariantSpec> variants, string idColumn, AbTestDefinition? abTest = null)
    {
        if (variants.Count == 0) return "NULL";
        var hash = HashSql(idColumn);
        // With a test phase, the test share (hash below testPercent) is spread over the whole weight range again;
        // the rest gets no variant until the winner is known.
        var scaled = abTest is null ? hash : $"({hash} * 100 / {abTest.TestPercent})";
        var total = variants.Sum(v => v.Weight);
        var sb = new StringBuilder($"CASE ");
        if (abTest is not null) sb.Append(CultureInfo.InvariantCulture, $"WHEN {HoldbackSql(idColumn, abTest)} THEN NULL ");
        double acc = 0;
        for (var i = 0; i < variants.Count; i++)
        {
            acc += variants[i].Weight;
            var bound = i == variants.Count - 1 ? 10000 : (int)Math.Round(acc / total * 10000);
            sb.Append(CultureInfo.InvariantCulture, $"WHEN {scaled} < {bound} THEN '{variants[i].Name.Replace("'", "''")}' ");
        }
        return sb.Append("ELSE NULL END").ToString();
    }

    private static string HashSql(string idColumn) => $"((({idColumn} * 2654435761) % 4294967296) % 10000)";

    /// <summary>True for contacts outside an A/B test share: they wait for the winner.</summary>
    internal static string HoldbackSql(string idColumn, AbTestDefinition abTest) =>
        string.Create(CultureInfo.InvariantCulture, $"{HashSql(idColumn)} >= {abTest.TestPercent * 100}");

    /// <summary>The same assignment in C# (tests and test-send use it).</summary>
    public static string? VariantFor(long contactId, IReadOnlyList<(string Name, double Weight)> variants)
    {
        if (variants.Count == 0) return null;
        var total = variants.Sum(v => v.Weight);
        var h = (contactId * 2654435761L % 4294967296L) % 10000;
        double acc = 0;
        for (var i = 0; i < variants.Count; i++)
        {
            acc += variants[i].Weight;
            var bound = i == variants.Count - 1 ? 10000 : (int)Math.Round(acc / total * 10000);
            if (h < bound) return variants[i].Name;
        }
        return null;
    }

    private static string AddressSql(string channel) => channel switch
    {
        ChannelNames.Email => "c.email",
        ChannelNames.Sms or ChannelNames.WhatsApp => "c.phone",
        ChannelNames.Webhook => "@webhook_url",
        // "contact:<id>": the web push provider sends to every subscription (browser) of the contact.
        ChannelNames.Push => "CASE WHEN EXISTS (SELECT 1 FROM push_subscription ps WHERE ps.contact_id = c.id) THEN 'contact:' || CAST(c.id AS TEXT) END",
        _ => "NULL",
    };

    private static string ConsentSql(string channel) => channel switch
    {
        ChannelNames.Email => "c.email_consent",
        ChannelNames.Sms => "c.sms_consent",
        ChannelNames.WhatsApp => "c.whatsapp_consent",
        ChannelNames.Push => "c.push_consent",
        _ => "'subscribed'",
    };

    internal static string Suppressed(string ch, string addr) =>
        $"EXISTS (SELECT 1 FROM suppression p WHERE p.workspace_id = @ws AND p.channel = {ch} AND p.address = {addr})";

    /// <summary>
    /// RunMaterialize: one INSERT ... SELECT wrapping the audience fragment (a chunk of contact ids: the bounds are
    /// repeated inside the fragment too, or PostgreSQL semi-joins each chunk against the whole audience). Skip reasons are computed in
    /// SQL so skipped recipients are rows too (visible, counted). Email and phone are unique per workspace
    /// (contact indexes), so the address is already deduplicated within a channel.
    /// </summary>
    private async Task<List<Inserted>> InsertAsync(Plan p, List<string> channels, bool fallback, (long Lo, long Hi)? chunk, CancellationToken ct)
    {
        // A chunk belongs to a run that had no deliveries: no ON CONFLICT, counts from RETURNING, first-pass rows.
        var fresh = chunk is not null;
        var (run, campaign, ws, audience, configIds, content, suppressions, abTest, now) = (p.Run, p.Campaign, p.Ws, p.Audience, p.ConfigIds, p.Content, p.Suppressions, p.AbPhase, p.Now);
        string Suppressed(string ch, string addr) => suppressions ? RunStarter.Suppressed(ch, addr) : "(1 = 0)";
        string chExpr;
        if (!fallback) chExpr = $"'{channels[0]}'";
        else
        {
            var sb = new StringBuilder("CASE ");
            foreach (var ch in channels)
            {
                var addr = AddressSql(ch);
                sb.Append($"WHEN {addr} IS NOT NULL AND {addr} <> '' AND {ConsentSql(ch)} = 'subscribed' AND NOT {Suppressed($"'{ch}'", addr)} THEN '{ch}' ");
            }
            chExpr = sb.Append($"ELSE '{channels[0]}' END").ToString();
        }
        var addrCase = "CASE t0.ch " + string.Concat(channels.Select(ch => $"WHEN '{ch}' THEN t0.addr_{ch} ")) + "END";
        var consentCase = "CASE t0.ch " + string.Concat(channels.Select(ch => $"WHEN '{ch}' THEN t0.consent_{ch} ")) + "END";
        var perChannelCols = string.Concat(channels.Select(ch => $", {AddressSql(ch)} AS addr_{ch}, {ConsentSql(ch)} AS consent_{ch}"));
        var cfgCase = "CAST(CASE s.ch " + string.Concat(channels.Select(ch => $"WHEN '{ch}' THEN {(configIds[ch]?.ToString(CultureInfo.InvariantCulture) ?? "NULL")} ")) + "END AS BIGINT)";
        var capped = ws.FrequencyCapMax is { } cap
            ? $"WHEN (SELECT COUNT(*) FROM delivery f WHERE f.contact_id = t.id AND f.sent_at >= @cap_since AND f.workspace_id = @ws) >= {cap} THEN 'capped' "
            : "";
        var tx = db.IsPostgres ? "false" : "0";
        // A/B holdback: pending with reason ab_test and no due time until the decider releases it (AbTestDecider).
        var reason = abTest is null ? "s.reason" : $"COALESCE(s.reason, CASE WHEN {HoldbackSql("s.id", abTest)} THEN 'ab_test' END)";
        var nextAt = abTest is null ? "@now" : $"CASE WHEN s.reason IS NULL AND {HoldbackSql("s.id", abTest)} THEN @held ELSE @now END";
        // First pass (chunks, PostgreSQL): the rows due at once; held-back A/B rows wait in the pending index.
        var firstPass = !fresh ? tx : abTest is null ? "s.reason IS NULL" : $"(s.reason IS NULL AND NOT {HoldbackSql("s.id", abTest)})";
        var sql = $"""
            INSERT INTO delivery (workspace_id, run_id, campaign_id, contact_id, channel, address, variant, status, reason,
                attempts, next_attempt_at, channel_config_id, test, first_pass, created_at, finished_at)
            SELECT @ws, @run, @campaign, s.id, s.ch, COALESCE(s.addr, ''), {VariantSql(ParseVariants(campaign.Variants), "s.id", abTest)},
                CASE WHEN s.reason IS NULL THEN 'pending' ELSE 'skipped' END, {reason}, 0, {nextAt}, {cfgCase}, {tx}, {firstPass}, @now,
                CASE WHEN s.reason IS NULL THEN NULL ELSE @now END
            FROM (
                SELECT t.id, t.ch, t.addr,
                    CASE WHEN t.addr IS NULL OR t.addr = '' THEN 'no_address'
                         WHEN t.consent <> 'subscribed' THEN 'unsubscribed'
                         WHEN {Suppressed("t.ch", "t.addr")} THEN 'suppressed'
                         {capped}
                    END AS reason
                FROM (
                    SELECT t0.id, t0.ch, {addrCase} AS addr, {consentCase} AS consent
                    FROM (
                        SELECT c.id, {chExpr} AS ch {perChannelCols}
                        FROM contact c
                        WHERE c.workspace_id = @ws AND c.deleted_at IS NULL AND {(chunk is null ? $"c.id IN ({audience.Sql})" : $"c.id > @lo AND c.id <= @hi AND c.id IN (SELECT x.id FROM ({audience.Sql}) x WHERE x.id > @lo AND x.id <= @hi)")}
                    ) t0
                ) t
            ) s
            WHERE true
            {(fresh ? "" : "ON CONFLICT (run_id, contact_id, channel) DO NOTHING")}
            """;
        // RunMaterializeCount (chunks): what was inserted, counted from RETURNING in the same statement.
        if (fresh)
            sql = $"""
                WITH ins AS ({sql} RETURNING id, variant, status, first_pass)
                SELECT variant, status, COUNT(*), MIN(id) FILTER (WHERE first_pass), MAX(id) FILTER (WHERE first_pass) FROM ins GROUP BY variant, status
                """;
        var ps = new List<(string, object?)>
        {
            ("ws", ws.Id), ("run", run.Id), ("campaign", campaign.Id), ("now", Sql.Time(db, now)),
            ("webhook_url", content.Webhook?.Url ?? ""), ("held", Sql.Time(db, HeldUntil)),
        };
        if (ws.FrequencyCapMax is not null)
        {
            var since = now.AddDays(-ws.FrequencyCapPeriodDays);
            ps.Add(("cap_since", Sql.Time(db, since)));
        }
        if (chunk is { } range) { ps.Add(("lo", range.Lo)); ps.Add(("hi", range.Hi)); }
        foreach (var (k, v) in audience.Parameters) ps.Add((k.TrimStart('@'), v));
        if (fresh)
            return await Sql.QueryAsync(db, sql, r => new Inserted(r.NullableString(0), r.GetString(1), Convert.ToInt32(r.GetValue(2)), r.NullableLong(3), r.NullableLong(4)),
                ct, ps.ToArray());
        return [new Inserted(null, "", await Sql.ExecAsync(db, sql, ct, ps.ToArray()), null, null)];
    }

    /// <summary>Rows one materializing statement inserted, per variant and status; first-pass id bounds where known.</summary>
    private sealed record Inserted(string? Variant, string Status, int Count, long? FirstId, long? LastId);
}
