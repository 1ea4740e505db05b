using System.Collections.Concurrent;
using Herald.Campaigns;
using Herald.Delivery;
using Herald.Storage;
using Microsoft.Extensions.Options;

namespace Herald.Tracking;

/// <summary>
/// Serves <c>GET /campaigns/{id}/stats</c>. While a run of the campaign is sending (running with deliveries pending), a
/// node keeps the last read in memory and serves it for at most <see cref="TrackingOptions.StatsSnapshotMaxAge"/>
/// (default 1 s): a dashboard polling a 1M send then costs the database one read a second per campaign instead of
/// one per request, and the request does no I/O at all. Concurrent readers share one refresh (single flight), and the
/// refresh starts in the background once the snapshot is half its maximum age, so readers rarely wait for it.
/// Anything not sending (a finished, paused or scheduled run, a campaign with no run) is read fresh every time, so
/// events recorded after a send show at once. Age is measured on the injected <see cref="TimeProvider"/>.
/// </summary>
public sealed class CampaignStatsSnapshots(IServiceScopeFactory scopes, IOptions<TrackingOptions> options, TimeProvider clock)
{
    /// <param name="TakenAt">Timestamp (<see cref="TimeProvider.GetTimestamp"/>) of when the read began: the data is at least this new.</param>
    private sealed record Snapshot(CampaignStatsDto Stats, bool Sending, long TakenAt);

    private sealed class Slot
    {
        public readonly Lock Gate = new();
        public Snapshot? Last;
        public Task<Snapshot>? Refresh;
        public long RefreshStartedAt;
    }

    // Keyed by workspace too: a snapshot is only ever served to callers of the workspace it was read for.
    private readonly ConcurrentDictionary<(long Workspace, long Campaign, long? Run), Slot> _slots = new();

    /// <summary>The stats of a campaign of the caller's workspace (or of one run), fresh or at most <see cref="TrackingOptions.StatsSnapshotMaxAge"/> old while sending.</summary>
    public async Task<CampaignStatsDto> ReadAsync(HeraldDb db, long workspaceId, long campaignId, long? runId, CancellationToken ct)
    {
        var maxAge = options.Value.StatsSnapshotMaxAge;
        if (maxAge <= TimeSpan.Zero) return (await ReadAsync(db, workspaceId, campaignId, runId, clock.GetTimestamp(), ct)).Stats;

        var key = (workspaceId, campaignId, runId);
        if (_slots.TryGetValue(key, out var slot) && Volatile.Read(ref slot.Last) is { Sending: true } last)
        {
            var age = clock.GetElapsedTime(last.TakenAt);
            if (age < maxAge)
            {
                if (age >= maxAge / 2) _ = Refresh(key, slot, after: last.TakenAt);
                return last.Stats;
            }
            // Too old: wait for a refresh that began within the maximum age (a concurrent reader's) or begin one.
            return (await Refresh(key, slot, after: clock.GetTimestamp() - Ticks(maxAge)).WaitAsync(ct)).Stats;
        }

        // Not sending when last read (or never read): this request reads on its own, so it sees every write committed before it.
        var fresh = await ReadAsync(db, workspaceId, campaignId, runId, clock.GetTimestamp(), ct);
        if (fresh.Sending) Keep(_slots.GetOrAdd(key, _ => new Slot()), fresh);
        else _slots.TryRemove(key, out _);
        return fresh.Stats;
    }

    private long Ticks(TimeSpan t) => (long)(t.TotalSeconds * clock.TimestampFrequency);

    /// <summary>The refresh in flight if it began after <paramref name="after"/>, else a new one (on its own scope: it outlives the request).</summary>
    private Task<Snapshot> Refresh((long Workspace, long Campaign, long? Run) key, Slot slot, long after)
    {
        lock (slot.Gate)
        {
            if (slot.Refresh is { } running && slot.RefreshStartedAt > after) return running;
            var startedAt = slot.RefreshStartedAt = clock.GetTimestamp();
            var refresh = slot.Refresh = Task.Run(async () =>
            {
                await using var scope = scopes.CreateAsyncScope();
                var s = await ReadAsync(scope.ServiceProvider.GetRequiredService<HeraldDb>(), key.Workspace, key.Campaign, key.Run, startedAt, CancellationToken.None);
                Keep(slot, s);
                return s;
            });
            // A failed refresh (campaign deleted, database down) drops the slot: the next reader reads on its own and sees the error.
            refresh.ContinueWith(t =>
            {
                _ = t.Exception; // observed: readers that joined got it; one that did not must not leave it unobserved
                _slots.TryRemove(new KeyValuePair<(long, long, long?), Slot>(key, slot));
            }, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return refresh;
        }
    }

    private static void Keep(Slot slot, Snapshot s)
    {
        lock (slot.Gate)
            if (slot.Last is null || slot.Last.TakenAt <= s.TakenAt) Volatile.Write(ref slot.Last, s);
    }

    private static async Task<Snapshot> ReadAsync(HeraldDb db, long workspaceId, long campaignId, long? runId, long takenAt, CancellationToken ct)
    {
        var stats = await new CampaignStatsReader(db).ReadAsync(workspaceId, campaignId, runId, ct);
        // Runs beyond the listed newest ones count as not sending: the snapshot is then skipped, never wrongly used.
        var sending = stats.Runs?.Any(r => r.Status == RunStatus.Running && r.Pending > 0) == true;
        return new Snapshot(stats, sending, takenAt);
    }
}
