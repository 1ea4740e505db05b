using System.Diagnostics;

namespace Herald.Tests.Cluster;

/// <summary>What one campaign through the cluster did, as the sink and the database saw it.</summary>
public sealed record ClusterRunResult(
    int Recipients, double Seconds, double MessagesPerSecond, DeliveryTally Tally,
    int SinkUnique, int SinkDuplicates, int LostSent, int UnexpectedAtSink,
    string? KilledNode, int KilledInFlight, double FirstMessageSeconds = double.NaN)
{
    public override string ToString() =>
        $"{Recipients} recipients in {Seconds:F1} s = {MessagesPerSecond:F0} msg/s, first at the sink {FirstMessageSeconds:F1} s after the run's time; rows {string.Join(", ", Tally.ByStatus.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}"))}; " +
        $"sink {SinkUnique} ids, {SinkDuplicates} twice; sent-but-not-received {LostSent}; received-but-not-sent-or-unknown {UnexpectedAtSink}" +
        (KilledNode is null ? "" : $"; killed {KilledNode} with {KilledInFlight} in flight");
}

/// <summary>The scenarios the tests assert and the soak command prints, written once.</summary>
public static class ClusterScenarios
{
    /// <summary>
    /// A webhook campaign to the contacts tagged <paramref name="tag"/>; when <paramref name="killNode"/> is given, that
    /// node is SIGKILLed once the sink has accepted <paramref name="killAtShare"/> of the recipients, and the deliveries
    /// it held in flight are counted straight after.
    /// </summary>
    public static async Task<ClusterRunResult> DeliverAsync(HeraldCluster cluster, ClusterSink sink, string tag, int recipients,
        TimeSpan timeout, int? killNode = null, double killAtShare = 0.3)
    {
        using var api = cluster.Api(0);
        var before = sink.Received.Keys.ToHashSet();
        var acceptedBefore = sink.Accepted.Count;
        var id = await api.CampaignAsync(tag, new { type = "now" });
        var campaignId = long.Parse(id);
        var sw = Stopwatch.StartNew();
        var deadline = DateTime.UtcNow + timeout;
        string? killed = null;
        var inFlight = 0;
        if (killNode is { } k)
        {
            while (sink.Received.Count - before.Count < recipients * killAtShare)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"the sink got {sink.Received.Count - before.Count} before the kill point");
                await Task.Delay(20);
            }
            var node = cluster.Nodes[k];
            node.Kill();
            killed = node.Name;
            // In flight: leased row by row ('sending'), or in one of its first-pass ranges and not yet recorded.
            inFlight = (await cluster.QueryAsync("""
                SELECT (SELECT COUNT(*) FROM delivery WHERE campaign_id = @c AND status = 'sending' AND lease_owner = @n)
                     + (SELECT COUNT(*) FROM delivery d JOIN delivery_lease l ON d.run_id = l.run_id AND d.id BETWEEN l.first_id AND l.last_id
                        WHERE d.campaign_id = @c AND l.owner = @n AND d.status = 'pending' AND d.first_pass)
                """, r => r.GetInt64(0), ("c", campaignId), ("n", node.Name)))[0] is var n ? (int)n : 0;
        }
        await api.WaitStatusAsync(id, deadline - DateTime.UtcNow, "completed", "paused", "cancelled");
        var seconds = sw.Elapsed.TotalSeconds;
        var tally = await DeliveryTally.ReadAsync(cluster, campaignId);
        var rowIds = tally.Rows.ToDictionary(r => r.Id, r => r.Status);
        var mine = sink.Received.Where(kv => !before.Contains(kv.Key) && rowIds.ContainsKey(kv.Key)).ToList();
        var lost = tally.Rows.Count(r => r.Status == "sent" && !sink.Received.ContainsKey(r.Id));
        var unexpected = mine.Count(kv => rowIds[kv.Key] is not ("sent" or "unknown"));
        // Start latency as a user sees it: from the run's time (the submit, for "now") to the first message at the provider.
        var first = sink.Accepted.Skip(acceptedBefore).DefaultIfEmpty(-1).Min();
        var due = (await cluster.QueryAsync("SELECT MIN(scheduled_for) FROM campaign_run WHERE campaign_id = @c",
            r => r.GetDateTime(0), ("c", campaignId)))[0];
        var firstSeconds = first < 0 ? double.NaN : (sink.StartedUtc.AddMilliseconds(first) - due.ToUniversalTime()).TotalSeconds;
        return new ClusterRunResult(tally.Rows.Count, seconds, tally.Count("sent") / seconds, tally, mine.Count,
            mine.Count(kv => kv.Value > 1), lost, unexpected, killed, inFlight, firstSeconds);
    }

    /// <summary>
    /// Sends to <paramref name="recipients"/> contacts tagged <paramref name="tag"/> through a channel limited to
    /// <paramref name="perSecond"/> and measures the sink's accepted rate over <paramref name="window"/>, starting
    /// <paramref name="warmup"/> after the first message (the bucket starts full: one second's worth goes at once).
    /// </summary>
    public static async Task<(double Rate, double Error)> MeasureRateAsync(HeraldCluster cluster, ClusterSink sink, string tag,
        int perSecond, TimeSpan warmup, TimeSpan window, TimeSpan timeout)
    {
        using var api = cluster.Api(0);
        await api.WebhookChannelAsync(sink.BaseUrl + "/rate", perSecond);
        var startCount = sink.Accepted.Count;
        var id = await api.CampaignAsync(tag, new { type = "now" });
        var deadline = DateTime.UtcNow + timeout;
        while (sink.Accepted.Count == startCount)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("no message reached the sink");
            await Task.Delay(10);
        }
        var first = sink.Accepted.Skip(startCount).Min();
        var from = first + (long)warmup.TotalMilliseconds;
        var to = from + (long)window.TotalMilliseconds;
        while (sink.NowMs < to + 200)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the rate window did not end in time");
            await Task.Delay(100);
        }
        var rate = sink.AcceptedRate(from, to);
        await api.PostAsync($"/api/v1/campaigns/{id}/cancel");
        return (rate, Math.Abs(rate - perSecond) / perSecond);
    }
}
