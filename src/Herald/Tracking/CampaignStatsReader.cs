using Herald.Campaigns;
using Herald.Delivery;
using Herald.Storage;

namespace Herald.Tracking;

/// <summary>
/// Reads campaign stats from the pre-aggregated rows only: run counters, per-variant and per-minute counters and link
/// counters, all moved in step with deliveries and events. Nothing here counts deliveries or events, so a read costs
/// the same during a 1M send as after it.
/// </summary>
public sealed class CampaignStatsReader(HeraldDb db)
{
    /// <summary>Runs listed in a campaign's stats (the newest); all of them are summed.</summary>
    public const int MaxRunsListed = 100;

    private static double Rate(decimal part, decimal whole) => whole <= 0 ? 0 : Math.Round((double)(part / whole), 4);

    /// <summary>
    /// CampaignStatsRead: the campaign (of the caller's workspace), its runs, their variant and minute rows and the
    /// campaign's links in one command with five result sets, so a read is one round trip however loaded the server is.
    /// Rows are summed here, as few as they are (runs, variants, minutes with activity, links).
    /// </summary>
    public async Task<CampaignStatsDto> ReadAsync(long workspaceId, long campaignId, long? runId, CancellationToken ct)
    {
        var runFilter = runId is null ? "campaign_id = @c" : "campaign_id = @c AND id = @r";
        var sql = $"""
            SELECT status, status_reason, variants, next_run_at FROM campaign WHERE id = @c AND workspace_id = @w;
            SELECT id, occurrence, status, status_reason, scheduled_for, started_at, finished_at, total, pending, sent, delivered, "read", failed,
                skipped, "unknown", opened, clicked, converted, unsubscribed, bounced, opens_total, clicks_total, machine_opens, machine_clicks,
                conversions, conversion_value, ab_decision
            FROM campaign_run WHERE {runFilter} ORDER BY occurrence DESC;
            SELECT variant, total, skipped, sent, delivered, failed, bounced, opened, clicked, converted, unsubscribed, conversion_value
            FROM run_variant_stat WHERE run_id IN (SELECT id FROM campaign_run WHERE {runFilter});
            SELECT "minute", sent, delivered, failed, opened, clicked, converted, unsubscribed
            FROM run_minute_stat WHERE run_id IN (SELECT id FROM campaign_run WHERE {runFilter});
            SELECT id, url, clicks, unique_clicks FROM tracked_link WHERE campaign_id = @c ORDER BY id;
            """;
        await using var cmd = await Sql.CommandAsync(db, sql, ct, ("c", campaignId), ("w", workspaceId));
        if (runId is { } rid) Sql.Add(cmd, "r", rid);
        await using var rd = await cmd.ExecuteReaderAsync(ct);
        if (!await rd.ReadAsync(ct)) throw new Common.NotFoundException("Campaign");
        var campaign = new CampaignHead(rd.GetString(0), rd.NullableString(1), rd.NullableString(2), Time(rd, 3));

        var runs = new List<CampaignRun>();
        await rd.NextResultAsync(ct);
        while (await rd.ReadAsync(ct))
            runs.Add(new CampaignRun
            {
                Id = rd.GetInt64(0), CampaignId = campaignId, WorkspaceId = workspaceId, Occurrence = rd.GetInt32(1), Status = rd.GetString(2),
                StatusReason = rd.NullableString(3), ScheduledFor = Time(rd, 4)!.Value, StartedAt = Time(rd, 5), FinishedAt = Time(rd, 6),
                Total = rd.GetInt32(7), Pending = rd.GetInt32(8), Sent = rd.GetInt32(9), Delivered = rd.GetInt32(10), Read = rd.GetInt32(11),
                Failed = rd.GetInt32(12), Skipped = rd.GetInt32(13), Unknown = rd.GetInt32(14), Opened = rd.GetInt32(15), Clicked = rd.GetInt32(16),
                Converted = rd.GetInt32(17), Unsubscribed = rd.GetInt32(18), Bounced = rd.GetInt32(19), OpensTotal = rd.GetInt32(20),
                ClicksTotal = rd.GetInt32(21), MachineOpens = rd.GetInt32(22), MachineClicks = rd.GetInt32(23), Conversions = rd.GetInt32(24),
                ConversionValue = Money(rd, 25), AbDecision = rd.NullableString(26),
            });
        if (runId is not null && runs.Count == 0) throw new Common.NotFoundException("Run");

        var variantRows = new List<RunVariantStat>();
        await rd.NextResultAsync(ct);
        // Campaigns without variants have no variant rows; any there are not shown, as before.
        while (await rd.ReadAsync(ct))
            if (!string.IsNullOrEmpty(campaign.Variants))
                variantRows.Add(new RunVariantStat
                {
                    Variant = rd.GetString(0), Total = rd.GetInt32(1), Skipped = rd.GetInt32(2), Sent = rd.GetInt32(3), Delivered = rd.GetInt32(4),
                    Failed = rd.GetInt32(5), Bounced = rd.GetInt32(6), Opened = rd.GetInt32(7), Clicked = rd.GetInt32(8), Converted = rd.GetInt32(9),
                    Unsubscribed = rd.GetInt32(10), ConversionValue = Money(rd, 11),
                });

        var minutes = new List<RunMinuteStat>();
        await rd.NextResultAsync(ct);
        while (await rd.ReadAsync(ct))
            minutes.Add(new RunMinuteStat
            {
                Minute = Time(rd, 0)!.Value, Sent = rd.GetInt32(1), Delivered = rd.GetInt32(2), Failed = rd.GetInt32(3), Opened = rd.GetInt32(4),
                Clicked = rd.GetInt32(5), Converted = rd.GetInt32(6), Unsubscribed = rd.GetInt32(7),
            });

        var links = new List<LinkStats>();
        await rd.NextResultAsync(ct);
        while (await rd.ReadAsync(ct))
            links.Add(new LinkStats(rd.GetInt64(0).ToString(System.Globalization.CultureInfo.InvariantCulture), rd.GetString(1), rd.GetInt32(2), rd.GetInt32(3)));

        return Build(campaignId, campaign, runId, runs, variantRows, minutes, links);
    }

    /// <summary>What the stats show of the campaign row.</summary>
    private sealed record CampaignHead(string Status, string? StatusReason, string? Variants, DateTime? NextRunAt);

    // SQLite returns times as text without a kind and money as REAL (see HeraldDb); every Herald time is UTC.
    private static DateTime? Time(System.Data.Common.DbDataReader r, int i) => r.IsDBNull(i) ? null : DateTime.SpecifyKind(r.GetDateTime(i), DateTimeKind.Utc);
    private static decimal Money(System.Data.Common.DbDataReader r, int i) => Convert.ToDecimal(r.GetValue(i), System.Globalization.CultureInfo.InvariantCulture);

    private static CampaignStatsDto Build(long campaignId, CampaignHead campaign, long? runId, List<CampaignRun> runs, List<RunVariantStat> variantRows,
        List<RunMinuteStat> minutes, List<LinkStats> links)
    {
        int S(Func<CampaignRun, int> f) => runs.Sum(f);
        var order = RunStarter.ParseVariants(campaign.Variants).Select(v => v.Name).ToList();
        var variants = variantRows.GroupBy(s => s.Variant).OrderBy(g => order.IndexOf(g.Key) is var i && i < 0 ? int.MaxValue : i).ThenBy(g => g.Key)
            .Select(g =>
            {
                int V(Func<RunVariantStat, int> f) => g.Sum(f);
                var sent = V(s => s.Sent);
                return new VariantStats(g.Key, V(s => s.Total), sent, V(s => s.Failed), V(s => s.Skipped), V(s => s.Opened), V(s => s.Clicked),
                    V(s => s.Delivered), V(s => s.Converted), V(s => s.Unsubscribed), V(s => s.Bounced), g.Sum(s => s.ConversionValue),
                    Rate(V(s => s.Opened), sent), Rate(V(s => s.Clicked), sent), Rate(V(s => s.Converted), sent));
            }).ToList();

        var timeline = minutes.GroupBy(m => m.Minute).OrderBy(g => g.Key)
            .Select(g => new TimelinePoint(DateTime.SpecifyKind(g.Key, DateTimeKind.Utc), g.Sum(m => m.Sent), g.Sum(m => m.Delivered), g.Sum(m => m.Failed),
                g.Sum(m => m.Opened), g.Sum(m => m.Clicked), g.Sum(m => m.Converted), g.Sum(m => m.Unsubscribed)))
            .ToList();

        var sent = S(r => r.Sent);
        var started = runs.Where(r => r.StartedAt != null).Select(r => r.StartedAt).Min();
        var active = runs.Any(r => r.FinishedAt is null && r.StartedAt is not null);
        DateTime? completed = runs.Count > 0 && !active ? runs.Max(r => r.FinishedAt) : null;
        var latest = runs.FirstOrDefault();
        return new CampaignStatsDto(campaignId.ToString(System.Globalization.CultureInfo.InvariantCulture), runId?.ToString(), runId is null ? campaign.Status : latest?.Status ?? campaign.Status,
            runId is null ? campaign.StatusReason ?? latest?.StatusReason : latest?.StatusReason,
            S(r => r.Total), S(r => r.Pending), sent, S(r => r.Delivered), S(r => r.Read), S(r => r.Failed), S(r => r.Skipped), S(r => r.Unknown),
            S(r => r.Opened), S(r => r.Clicked), S(r => r.Converted), S(r => r.Unsubscribed), S(r => r.Bounced),
            Rate(S(r => r.Delivered), sent), Rate(S(r => r.Opened), sent), Rate(S(r => r.Clicked), sent), Rate(S(r => r.Converted), sent),
            started, completed, started is { } s && completed is { } c ? (c - s).TotalSeconds : null, campaign.NextRunAt, variants, timeline,
            Rate(S(r => r.Unsubscribed), sent), Rate(S(r => r.Bounced), sent + S(r => r.Failed)),
            S(r => r.OpensTotal), S(r => r.ClicksTotal), S(r => r.MachineOpens), S(r => r.MachineClicks), S(r => r.Conversions), runs.Sum(r => r.ConversionValue),
            links, runs.Take(MaxRunsListed).Select(ToDto).ToList(), AbTestState.Parse(latest?.AbDecision));
    }

    private static RunStatsDto ToDto(CampaignRun r) => new(r.Id.ToString(), r.Occurrence, r.Status, r.ScheduledFor, r.StartedAt, r.FinishedAt,
        r.StartedAt is { } s && r.FinishedAt is { } f ? (f - s).TotalSeconds : null, r.Total, r.Pending, r.Sent, r.Delivered, r.Failed, r.Skipped,
        r.Opened, r.Clicked, r.Converted, r.Unsubscribed, r.Bounced, Rate(r.Opened, r.Sent), Rate(r.Clicked, r.Sent), AbTestState.Parse(r.AbDecision));

    /// <summary>The analytics row of a campaign from its runs.</summary>
    public static CampaignSummaryDto Summary(Campaign c, IReadOnlyList<CampaignRun> rs)
    {
        int S(Func<CampaignRun, int> f) => rs.Sum(f);
        var sent = S(r => r.Sent);
        return new CampaignSummaryDto(c.Id.ToString(), c.Name, c.Status, c.Channels, rs.Count, S(r => r.Total), S(r => r.Pending), sent,
            S(r => r.Delivered), S(r => r.Failed), S(r => r.Skipped), S(r => r.Unknown), S(r => r.Opened), S(r => r.Clicked), S(r => r.Converted),
            Rate(S(r => r.Delivered), sent), Rate(S(r => r.Opened), sent), Rate(S(r => r.Clicked), sent), Rate(S(r => r.Converted), sent),
            rs.Max(r => r.StartedAt), S(r => r.Unsubscribed), S(r => r.Bounced), Rate(S(r => r.Unsubscribed), sent), Rate(S(r => r.Bounced), sent + S(r => r.Failed)),
            S(r => r.Conversions), rs.Sum(r => r.ConversionValue));
    }
}
