using Herald.Campaigns;
using Herald.Delivery;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;

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

    public async Task<CampaignStatsDto> ReadAsync(Campaign campaign, long? runId, CancellationToken ct)
    {
        var q = db.Set<CampaignRun>().AsNoTracking().Where(r => r.CampaignId == campaign.Id);
        if (runId is { } rid) q = q.Where(r => r.Id == rid);
        var runs = await q.OrderByDescending(r => r.Occurrence).ToListAsync(ct);
        if (runId is not null && runs.Count == 0) throw new Common.NotFoundException("Run");
        var ids = runs.Select(r => r.Id).ToList();
        int S(Func<CampaignRun, int> f) => runs.Sum(f);

        // Campaigns without variants have no variant rows: skip the round trip.
        var variantRows = ids.Count == 0 || string.IsNullOrEmpty(campaign.Variants) ? [] : await db.Set<RunVariantStat>().AsNoTracking().Where(s => ids.Contains(s.RunId)).ToListAsync(ct);
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

        var minutes = ids.Count == 0 ? [] : await db.Set<RunMinuteStat>().AsNoTracking().Where(s => ids.Contains(s.RunId)).ToListAsync(ct);
        var timeline = minutes.GroupBy(m => m.Minute).OrderBy(g => g.Key)
            .Select(g => new TimelinePoint(DateTime.SpecifyKind(g.Key, DateTimeKind.Utc), g.Sum(m => m.Sent), g.Sum(m => m.Delivered), g.Sum(m => m.Failed),
                g.Sum(m => m.Opened), g.Sum(m => m.Clicked), g.Sum(m => m.Converted), g.Sum(m => m.Unsubscribed)))
            .ToList();

        var links = await db.Set<TrackedLink>().AsNoTracking().Where(l => l.CampaignId == campaign.Id).OrderBy(l => l.Id)
            .Select(l => new LinkStats(l.Id.ToString(), l.Url, l.Clicks, l.UniqueClicks)).ToListAsync(ct);

        var sent = S(r => r.Sent);
        var started = runs.Where(r => r.StartedAt != null).Select(r => r.StartedAt).Min();
        var active = runs.Any(r => r.FinishedAt is null && r.StartedAt is not null);
        DateTime? completed = runs.Count > 0 && !active ? runs.Max(r => r.FinishedAt) : null;
        var latest = runs.FirstOrDefault();
        return new CampaignStatsDto(campaign.Id.ToString(), runId?.ToString(), runId is null ? campaign.Status : latest?.Status ?? campaign.Status,
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
