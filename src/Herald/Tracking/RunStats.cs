using Herald.Delivery;
using Herald.Storage;

namespace Herald.Tracking;

/// <summary>
/// A change to a run's counters: what the delivery engine settled in a batch, what a receipt moved, or what a
/// tracking event did. <see cref="At"/> picks the timeline minute; <see cref="Variant"/> the A/B row (none when null).
/// </summary>
public readonly record struct StatDelta(long RunId, string? Variant, DateTime At)
{
    public int Total { get; init; }
    public int Skipped { get; init; }
    public int Sent { get; init; }
    public int Delivered { get; init; }
    public int Failed { get; init; }
    public int Bounced { get; init; }
    /// <summary>Unique (first human) opens, clicks, conversions and unsubscribes of deliveries.</summary>
    public int Opened { get; init; }
    public int Clicked { get; init; }
    public int Converted { get; init; }
    public int Unsubscribed { get; init; }
    /// <summary>Every open and click, machines included, and the machine ones among them.</summary>
    public int OpensTotal { get; init; }
    public int ClicksTotal { get; init; }
    public int MachineOpens { get; init; }
    public int MachineClicks { get; init; }
    public int Conversions { get; init; }
    public decimal ConversionValue { get; init; }

    internal bool HasRunPart => Bounced != 0 || Opened != 0 || Clicked != 0 || Converted != 0 || Unsubscribed != 0 || OpensTotal != 0
        || ClicksTotal != 0 || MachineOpens != 0 || MachineClicks != 0 || Conversions != 0 || ConversionValue != 0;

    internal bool HasMinutePart => Sent != 0 || Delivered != 0 || Failed != 0 || Opened != 0 || Clicked != 0 || Converted != 0 || Unsubscribed != 0;

    internal bool HasVariantPart => Total != 0 || Skipped != 0 || Sent != 0 || Delivered != 0 || Failed != 0 || Bounced != 0 || Opened != 0
        || Clicked != 0 || Converted != 0 || Unsubscribed != 0 || ConversionValue != 0;
}

/// <summary>Which counter rows a <see cref="RunStats.ApplyAsync"/> moves.</summary>
[Flags]
public enum StatParts
{
    Run = 1,
    Variant = 2,
    Minute = 4,
    /// <summary>Variant and minute rows: what engine batches and receipts move (their own statements move campaign_run).</summary>
    Breakdown = Variant | Minute,
    All = Run | Variant | Minute,
}

/// <summary>
/// Moves the pre-aggregated counters: the tracking columns of <c>campaign_run</c> (sent, failed and the other
/// delivery counters belong to the engine's own record statement), <c>run_variant_stat</c> and
/// <c>run_minute_stat</c>. Call it inside the transaction that writes what the counters count. Deltas are
/// merged per row first, so a batch costs one upsert per run, variant and minute touched.
/// </summary>
public static class RunStats
{
    public static DateTime Minute(DateTime utc) => new(utc.Ticks - utc.Ticks % TimeSpan.TicksPerMinute, DateTimeKind.Utc);

    /// <param name="parts">Which rows move: the tracking counters of <c>campaign_run</c> (not for engine batches and receipts, which move
    /// the row themselves), the variant rows, the timeline minutes (a flow: corrections of earlier counts stay out of it).</param>
    public static async Task ApplyAsync(HeraldDb db, IEnumerable<StatDelta> deltas, StatParts parts, CancellationToken ct)
    {
        var list = deltas.ToList();
        if (list.Count == 0) return;
        if (parts.HasFlag(StatParts.Run))
            foreach (var g in list.Where(d => d.HasRunPart).GroupBy(d => d.RunId))
                await RunAsync(db, g.Key, Sum(g), ct);
        if (parts.HasFlag(StatParts.Variant))
            foreach (var g in list.Where(d => d.Variant is not null && d.HasVariantPart).GroupBy(d => (d.RunId, d.Variant)))
                await VariantAsync(db, g.Key.RunId, g.Key.Variant!, Sum(g), ct);
        if (parts.HasFlag(StatParts.Minute))
            foreach (var g in list.Where(d => d.HasMinutePart).GroupBy(d => (d.RunId, Minute: Minute(d.At))))
                await MinuteAsync(db, g.Key.RunId, g.Key.Minute, Sum(g), ct);
    }

    private static StatDelta Sum(IEnumerable<StatDelta> ds)
    {
        var s = new StatDelta();
        foreach (var d in ds)
            s = s with
            {
                Total = s.Total + d.Total, Skipped = s.Skipped + d.Skipped, Sent = s.Sent + d.Sent, Delivered = s.Delivered + d.Delivered,
                Failed = s.Failed + d.Failed, Bounced = s.Bounced + d.Bounced, Opened = s.Opened + d.Opened, Clicked = s.Clicked + d.Clicked,
                Converted = s.Converted + d.Converted, Unsubscribed = s.Unsubscribed + d.Unsubscribed, OpensTotal = s.OpensTotal + d.OpensTotal,
                ClicksTotal = s.ClicksTotal + d.ClicksTotal, MachineOpens = s.MachineOpens + d.MachineOpens, MachineClicks = s.MachineClicks + d.MachineClicks,
                Conversions = s.Conversions + d.Conversions, ConversionValue = s.ConversionValue + d.ConversionValue,
            };
        return s;
    }

    private static Task RunAsync(HeraldDb db, long runId, StatDelta d, CancellationToken ct) => Sql.ExecAsync(db, """
        UPDATE campaign_run SET bounced = bounced + @bounced, opened = opened + @opened, clicked = clicked + @clicked,
            converted = converted + @converted, unsubscribed = unsubscribed + @unsubscribed, opens_total = opens_total + @opens_total,
            clicks_total = clicks_total + @clicks_total, machine_opens = machine_opens + @machine_opens, machine_clicks = machine_clicks + @machine_clicks,
            conversions = conversions + @conversions, conversion_value = conversion_value + @value
        WHERE id = @r
        """, ct, ("bounced", d.Bounced), ("opened", d.Opened), ("clicked", d.Clicked), ("converted", d.Converted), ("unsubscribed", d.Unsubscribed),
        ("opens_total", d.OpensTotal), ("clicks_total", d.ClicksTotal), ("machine_opens", d.MachineOpens), ("machine_clicks", d.MachineClicks),
        ("conversions", d.Conversions), ("value", Money(db, d.ConversionValue)), ("r", runId));

    /// <summary>RunVariantStatAdd: an upsert, so the first batch of a variant creates its row.</summary>
    private static Task VariantAsync(HeraldDb db, long runId, string variant, StatDelta d, CancellationToken ct) => Sql.ExecAsync(db, """
        INSERT INTO run_variant_stat (run_id, variant, total, skipped, sent, delivered, failed, bounced, opened, clicked, converted, unsubscribed, conversion_value)
        VALUES (@r, @v, @total, @skipped, @sent, @delivered, @failed, @bounced, @opened, @clicked, @converted, @unsubscribed, @value)
        ON CONFLICT (run_id, variant) DO UPDATE SET total = run_variant_stat.total + excluded.total, skipped = run_variant_stat.skipped + excluded.skipped,
            sent = run_variant_stat.sent + excluded.sent, delivered = run_variant_stat.delivered + excluded.delivered,
            failed = run_variant_stat.failed + excluded.failed, bounced = run_variant_stat.bounced + excluded.bounced,
            opened = run_variant_stat.opened + excluded.opened, clicked = run_variant_stat.clicked + excluded.clicked,
            converted = run_variant_stat.converted + excluded.converted, unsubscribed = run_variant_stat.unsubscribed + excluded.unsubscribed,
            conversion_value = run_variant_stat.conversion_value + excluded.conversion_value
        """, ct, ("r", runId), ("v", variant), ("total", d.Total), ("skipped", d.Skipped), ("sent", d.Sent), ("delivered", d.Delivered), ("failed", d.Failed),
        ("bounced", d.Bounced), ("opened", d.Opened), ("clicked", d.Clicked), ("converted", d.Converted), ("unsubscribed", d.Unsubscribed),
        ("value", Money(db, d.ConversionValue)));

    /// <summary>RunMinuteStatAdd: one row per run and UTC minute with activity; the stats timeline reads these rows only.</summary>
    private static Task MinuteAsync(HeraldDb db, long runId, DateTime minute, StatDelta d, CancellationToken ct) => Sql.ExecAsync(db, """
        INSERT INTO run_minute_stat (run_id, minute, sent, delivered, failed, opened, clicked, converted, unsubscribed)
        VALUES (@r, @m, @sent, @delivered, @failed, @opened, @clicked, @converted, @unsubscribed)
        ON CONFLICT (run_id, minute) DO UPDATE SET sent = run_minute_stat.sent + excluded.sent, delivered = run_minute_stat.delivered + excluded.delivered,
            failed = run_minute_stat.failed + excluded.failed, opened = run_minute_stat.opened + excluded.opened,
            clicked = run_minute_stat.clicked + excluded.clicked, converted = run_minute_stat.converted + excluded.converted,
            unsubscribed = run_minute_stat.unsubscribed + excluded.unsubscribed
        """, ct, ("r", runId), ("m", db.IsPostgres ? minute : Sql.SqliteTime(minute)), ("sent", d.Sent), ("delivered", d.Delivered), ("failed", d.Failed),
        ("opened", d.Opened), ("clicked", d.Clicked), ("converted", d.Converted), ("unsubscribed", d.Unsubscribed));

    // SQLite stores decimals as REAL (see SqliteHeraldDb); PostgreSQL takes numeric.
    private static object Money(HeraldDb db, decimal v) => db.IsPostgres ? v : (double)v;
}
