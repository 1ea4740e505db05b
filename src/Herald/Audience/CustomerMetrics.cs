using System.ComponentModel.DataAnnotations;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Herald.Contacts;
using Herald.Hosting;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;

namespace Herald.Audience;

/// <summary>Customer metrics job settings.</summary>
public sealed class CustomerMetricsOptions
{
    public const string Section = "Herald:CustomerMetrics";
    /// <summary>Time between full recomputations. Default: 24 hours.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromDays(1);
    /// <summary>Days of activity the engagement score looks at. Default: 90.</summary>
    [Range(1, 3650)]
    public int EngagementDays { get; set; } = 90;
}

/// <summary>A named RFM segment: score ranges (inclusive) checked in order; the first that fits names the contact.</summary>
public sealed record RfmRule(string Name, int RMin, int RMax, int FMin, int FMax, int MMin, int MMax, bool SingleOrder = false)
{
    public bool Fits(int r, int f, int m, int orders) =>
        r >= RMin && r <= RMax && f >= FMin && f <= FMax && m >= MMin && m <= MMax && (!SingleOrder || orders == 1);

    public string Sql(string r, string f, string m, string orders) =>
        $"WHEN {r} BETWEEN {RMin} AND {RMax} AND {f} BETWEEN {FMin} AND {FMax} AND {m} BETWEEN {MMin} AND {MMax}{(SingleOrder ? $" AND {orders} = 1" : "")} THEN '{Name}'";
}

public sealed record CustomerMetricsResult(int Workspaces, long Buyers, TimeSpan Duration);

/// <summary>
/// RFM and engagement. Recency, frequency and monetary are 1-5 quintiles among the workspace's
/// buyers (cume_dist, so equal customers share a score; 5 = most recent / most orders / most
/// spent); non-buyers score 0 with no segment. engagementScore is 0-10 from the last
/// <see cref="CustomerMetricsOptions.EngagementDays"/> days: 3 per order, 2 per click, 1 per open.
/// The full run is set-based SQL per workspace; new order events rescore only their contacts
/// against the quintile cutoffs of the last full run.
/// </summary>
public sealed class CustomerMetrics(HeraldDb db, TimeProvider clock, IOptions<CustomerMetricsOptions> options)
{
    public static readonly RfmRule[] Rules =
    [
        new("champions", 4, 5, 4, 5, 4, 5),
        new("new", 4, 5, 1, 5, 1, 5, SingleOrder: true),
        new("loyal", 3, 5, 4, 5, 1, 5),
        new("potential_loyalist", 4, 5, 1, 3, 1, 5),
        new("cant_lose", 1, 2, 4, 5, 4, 5),
        new("at_risk", 1, 2, 3, 5, 1, 5),
        new("about_to_sleep", 3, 3, 1, 2, 1, 5),
        new("hibernating", 1, 2, 1, 2, 1, 5),
        new("need_attention", 1, 5, 1, 5, 1, 5),
    ];

    public static string? SegmentOf(int r, int f, int m, int orders) =>
        orders == 0 ? null : Rules.FirstOrDefault(x => x.Fits(r, f, m, orders))?.Name;

    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    public async Task<CustomerMetricsResult> RecomputeAllAsync(CancellationToken ct)
    {
        var started = clock.GetTimestamp();
        var ids = await db.Workspaces.AsNoTracking().Select(w => w.Id).ToListAsync(ct);
        long buyers = 0;
        foreach (var ws in ids) buyers += await RecomputeAsync(ws, ct);
        return new CustomerMetricsResult(ids.Count, buyers, clock.GetElapsedTime(started));
    }

    /// <summary>CustomerMetricsRecompute: order totals from events, RFM quintiles, engagement; returns the number of buyers.</summary>
    public async Task<long> RecomputeAsync(long workspaceId, CancellationToken ct)
    {
        var pg = db.IsPostgres;
        var now = Now;
        var since = now.AddDays(-options.Value.EngagementDays);
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            // Totals are rebuilt from the events so the incremental path can never drift for long.
            // Every statement skips rows whose values would not change: a daily run rewrites only what moved.
            await Exec("""
                UPDATE contact SET total_orders = a.n, total_spent = a.s, first_order_at = a.f, last_order_at = a.l, lifecycle = 'customer'
                FROM (SELECT contact_id, COUNT(*) AS n, COALESCE(SUM(value), 0) AS s, MIN(occurred_at) AS f, MAX(occurred_at) AS l
                      FROM contact_event WHERE workspace_id = @ws AND type = 'order' GROUP BY contact_id) a
                WHERE contact.id = a.contact_id AND (contact.total_orders <> a.n OR contact.total_spent <> a.s
                  OR contact.first_order_at IS DISTINCT FROM a.f OR contact.last_order_at IS DISTINCT FROM a.l OR contact.lifecycle <> 'customer')
                """, ct, ("@ws", workspaceId));

            string Score(string order) => pg
                ? $"CAST(CEIL(cume_dist() OVER (ORDER BY {order}) * 5) AS integer)"
                : $"CAST(cume_dist() OVER (ORDER BY {order}) * 5 + 0.999999 AS INTEGER)";
            var cases = string.Join(" ", Rules.Select(r => r.Sql("q.r", "q.f", "q.m", "q.n")));
            await Exec($"""
                UPDATE contact SET rfm_recency = s.r, rfm_frequency = s.f, rfm_monetary = s.m, rfm_segment = s.seg
                FROM (SELECT q.*, CASE {cases} END AS seg FROM
                       (SELECT id, total_orders AS n, {Score("last_order_at")} AS r, {Score("total_orders")} AS f, {Score("total_spent")} AS m
                        FROM contact WHERE workspace_id = @ws AND deleted_at IS NULL AND total_orders > 0) q) s
                WHERE contact.id = s.id AND (contact.rfm_recency <> s.r OR contact.rfm_frequency <> s.f OR contact.rfm_monetary <> s.m
                  OR contact.rfm_segment IS DISTINCT FROM s.seg)
                """, ct, ("@ws", workspaceId));
            await Exec("UPDATE contact SET rfm_recency = 0, rfm_frequency = 0, rfm_monetary = 0, rfm_segment = NULL WHERE workspace_id = @ws AND total_orders = 0 AND rfm_segment IS NOT NULL",
                ct, ("@ws", workspaceId));

            // Engagement: the active, plus those who had a score and may have lost it.
            await Exec("""
                WITH act AS (
                  SELECT contact_id, CASE WHEN SUM(pts) > 10 THEN 10 ELSE SUM(pts) END AS score FROM (
                    SELECT contact_id, 3 AS pts FROM contact_event WHERE workspace_id = @ws AND type = 'order' AND occurred_at >= @since
                    UNION ALL SELECT contact_id, 2 FROM delivery WHERE workspace_id = @ws AND clicked_at >= @since
                    UNION ALL SELECT contact_id, 1 FROM delivery WHERE workspace_id = @ws AND opened_at >= @since AND clicked_at IS NULL
                  ) x GROUP BY contact_id)
                UPDATE contact SET engagement_score = t.score
                FROM (SELECT k.contact_id, COALESCE(a.score, 0) AS score
                      FROM (SELECT id AS contact_id FROM contact WHERE workspace_id = @ws AND engagement_score <> 0 UNION SELECT contact_id FROM act) k
                      LEFT JOIN act a ON a.contact_id = k.contact_id) t
                WHERE contact.id = t.contact_id AND contact.engagement_score <> t.score
                """, ct, ("@ws", workspaceId), ("@since", since));

            var buyers = await Scalar<long>("SELECT COUNT(*) FROM contact WHERE workspace_id = @ws AND deleted_at IS NULL AND total_orders > 0", ct, ("@ws", workspaceId));
            var cutoffs = new Dictionary<string, object?[]>
            {
                ["recency"] = await CutoffsAsync("last_order_at", workspaceId, buyers, ct),
                ["frequency"] = await CutoffsAsync("total_orders", workspaceId, buyers, ct),
                ["monetary"] = await CutoffsAsync("total_spent", workspaceId, buyers, ct),
            };
            await tx.CommitAsync(ct);
            var row = await db.Set<RfmCutoffs>().FirstOrDefaultAsync(x => x.WorkspaceId == workspaceId, ct);
            if (row is null) db.Add(row = new RfmCutoffs { WorkspaceId = workspaceId });
            row.Cutoffs = JsonSerializer.Serialize(cutoffs);
            row.ComputedAt = now;
            await db.SaveChangesAsync(ct);
            return buyers;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>The values at the 20/40/60/80th percentile among buyers (the upper bound of scores 1-4).</summary>
    private async Task<object?[]> CutoffsAsync(string column, long ws, long buyers, CancellationToken ct)
    {
        var result = new object?[4];
        if (buyers == 0) return result;
        for (var i = 1; i <= 4; i++)
        {
            var offset = Math.Max(0, (long)Math.Ceiling(buyers * i / 5.0) - 1);
            var v = await Scalar<object>($"SELECT {column} FROM contact WHERE workspace_id = @ws AND deleted_at IS NULL AND total_orders > 0 ORDER BY {column} LIMIT 1 OFFSET {offset}", ct, ("@ws", ws));
            // SQLite returns instants as text; keep them as UTC instants in the stored JSON.
            result[i - 1] = v is string s ? DateTime.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal) : v;
        }
        return result;
    }

    /// <summary>Rescores the given contacts (after new order events) against the last full run's cutoffs.</summary>
    public async Task RescoreAsync(long workspaceId, IReadOnlyCollection<long> contactIds, CancellationToken ct)
    {
        if (contactIds.Count == 0) return;
        var since = Now.AddDays(-options.Value.EngagementDays);
        var row = await db.Set<RfmCutoffs>().AsNoTracking().FirstOrDefaultAsync(x => x.WorkspaceId == workspaceId, ct);
        var cut = row is null ? null : JsonSerializer.Deserialize<Dictionary<string, JsonElement[]>>(row.Cutoffs);
        foreach (var chunk in contactIds.Chunk(1000))
        {
            var contacts = await db.Contacts.Where(c => c.WorkspaceId == workspaceId && chunk.Contains(c.Id)).ToListAsync(ct);
            var orders = await db.ContactEvents.Where(e => chunk.Contains(e.ContactId) && e.Type == EventTypes.Order && e.OccurredAt >= since)
                .GroupBy(e => e.ContactId).Select(g => new { g.Key, N = g.Count() }).ToDictionaryAsync(x => x.Key, x => x.N, ct);
            var clicks = await db.Set<Delivery.DeliveryRow>().Where(d => chunk.Contains(d.ContactId) && d.ClickedAt >= since)
                .GroupBy(d => d.ContactId).Select(g => new { g.Key, N = g.Count() }).ToDictionaryAsync(x => x.Key, x => x.N, ct);
            var opens = await db.Set<Delivery.DeliveryRow>().Where(d => chunk.Contains(d.ContactId) && d.OpenedAt >= since && d.ClickedAt == null)
                .GroupBy(d => d.ContactId).Select(g => new { g.Key, N = g.Count() }).ToDictionaryAsync(x => x.Key, x => x.N, ct);
            foreach (var c in contacts)
            {
                c.EngagementScore = Math.Min(10, 3 * orders.GetValueOrDefault(c.Id) + 2 * clicks.GetValueOrDefault(c.Id) + opens.GetValueOrDefault(c.Id));
                if (c.TotalOrders == 0) continue;
                c.RfmRecency = cut is null ? 5 : Quintile(cut["recency"], e => e.ValueKind == JsonValueKind.Null ? null : e.GetDateTime() < (c.LastOrderAt ?? DateTime.MinValue));
                c.RfmFrequency = cut is null ? 1 : Quintile(cut["frequency"], e => e.ValueKind == JsonValueKind.Null ? null : e.GetDouble() < c.TotalOrders);
                c.RfmMonetary = cut is null ? 1 : Quintile(cut["monetary"], e => e.ValueKind == JsonValueKind.Null ? null : e.GetDouble() < (double)c.TotalSpent);
                c.RfmSegment = SegmentOf(c.RfmRecency, c.RfmFrequency, c.RfmMonetary, c.TotalOrders);
            }
            await db.SaveChangesAsync(ct);
        }
    }

    /// <summary>1 + the number of cutoffs strictly below the value (no cutoffs yet: everyone is 5).</summary>
    private static int Quintile(JsonElement[] cutoffs, Func<JsonElement, bool?> below) =>
        1 + cutoffs.Count(x => below(x) ?? true);

    private async Task<int> Exec(string sql, CancellationToken ct, params (string, object?)[] ps)
    {
        await using var cmd = Command(sql, ps);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    private async Task<T> Scalar<T>(string sql, CancellationToken ct, params (string, object?)[] ps)
    {
        await using var cmd = Command(sql, ps);
        var v = await cmd.ExecuteScalarAsync(ct);
        if (typeof(T) == typeof(object)) return (T)v!;
        return (T)Convert.ChangeType(v!, typeof(T), CultureInfo.InvariantCulture);
    }

    private DbCommand Command(string sql, (string Name, object? Value)[] ps)
    {
        var cmd = db.Database.GetDbConnection().CreateCommand();
        cmd.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        cmd.CommandText = sql;
        cmd.CommandTimeout = 600;
        foreach (var (n, v) in ps)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = n;
            p.Value = v ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }
}

/// <summary>Rescores contacts whose order events arrive (journeys and others observe too).</summary>
internal sealed class CustomerMetricsObserver(CustomerMetrics metrics) : IContactObserver
{
    public Task ContactsCreatedAsync(long workspaceId, IReadOnlyList<long> contactIds, CancellationToken ct) => Task.CompletedTask;

    public Task ContactsUpdatedAsync(long workspaceId, IReadOnlyList<ContactChange> changes, CancellationToken ct) => Task.CompletedTask;

    public Task EventsRecordedAsync(long workspaceId, IReadOnlyList<ContactEvent> events, CancellationToken ct) =>
        metrics.RescoreAsync(workspaceId, events.Where(e => e.Type == EventTypes.Order).Select(e => e.ContactId).Distinct().ToList(), ct);
}

/// <summary>The daily full recomputation (worker role).</summary>
public sealed class CustomerMetricsJob(IServiceScopeFactory scopes, TimeProvider clock, IOptions<CustomerMetricsOptions> options,
    IOptions<HeraldOptions> herald, ILogger<CustomerMetricsJob> log) : BackgroundService
{
    public async Task<CustomerMetricsResult> RunOnceAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<CustomerMetrics>().RecomputeAllAsync(ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!herald.Value.HasRole("worker")) return;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var r = await RunOnceAsync(stoppingToken);
                log.LogInformation("Customer metrics: {Workspaces} workspaces, {Buyers} buyers scored in {Duration}", r.Workspaces, r.Buyers, r.Duration);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogError(e, "Customer metrics run failed");
            }
            try { await Task.Delay(options.Value.Interval, clock, stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }
}
