using System.Text.Json;
using Herald.Campaigns;
using Herald.Common;
using Herald.Hosting;
using Herald.Storage;
using Herald.Workspaces;
using Microsoft.EntityFrameworkCore;

namespace Herald.Scheduling;

/// <summary>
/// Starts one claimed run (status <c>starting</c>): moves its campaign to running, creates the next run of a
/// recurring schedule, hands the run to <see cref="IRunStarter"/> and marks it running. Used by the
/// scheduler (due runs) and by send-now.
/// </summary>
public sealed class RunLauncher(IServiceScopeFactory scopes, SchedulerSignal signal, TimeProvider clock, HeraldMetrics metrics,
    Microsoft.Extensions.Options.IOptions<SchedulerOptions> options, ILogger<RunLauncher> log)
{
    private readonly TimeSpan _lease = options.Value.StartingLease;

    /// <summary>The lease a run claimed at <paramref name="nowUtc"/> gets (send-now stamps it on the run it creates).</summary>
    public DateTime LeaseFrom(DateTime nowUtc) => nowUtc + _lease;

    public sealed record Outcome(long RunId, bool Started, bool Misfired, DateTime? NextRunAt, string? Error);

    /// <param name="misfired">The run is late because the server was down: a recurring schedule continues from the next future slot.</param>
    /// <param name="nowUtc">The scheduler's "now" (its pass time); null = the clock's.</param>
    /// <remarks>
    /// Ordered for start latency: the hand-over comes first, right after the claim; then the campaign moves to
    /// running (compare-and-set), the next run is created and the run is marked running. A claimed run's
    /// campaign is startable: pause, cancel and reschedule move or remove its scheduled runs in the same
    /// transaction as the campaign. If the campaign changed in the meantime, the run ends cancelled (workers
    /// only send for running runs). While the starter materializes, a heartbeat renews the run's lease
    /// (<see cref="SchedulerOptions.StartingLease"/>); if the node dies midway the run stays <c>starting</c>, its
    /// lease passes and another scheduler claims it again (the starter is idempotent), creating the next run then.
    /// </remarks>
    public async Task<Outcome> LaunchAsync(long runId, bool misfired, DateTime? nowUtc, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
        var now = nowUtc ?? clock.GetUtcNow().UtcDateTime;

        Exception? failure = null;
        var starter = scope.ServiceProvider.GetService<IRunStarter>();
        try
        {
            if (starter is null) log.LogWarning("No run starter is registered; run {RunId} has nothing to deliver", runId);
            else
            {
                using var beating = CancellationTokenSource.CreateLinkedTokenSource(ct);
                var heartbeat = HeartbeatAsync(runId, beating.Token);
                try { await starter.StartAsync(runId, ct); }
                finally
                {
                    await beating.CancelAsync();
                    await heartbeat;
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            failure = e;
        }

        var row = await (
            from r in db.Set<CampaignRun>()
            join c in db.Set<Campaign>() on r.CampaignId equals c.Id
            join w in db.Set<Workspace>() on c.WorkspaceId equals w.Id
            where r.Id == runId
            select new { r.WorkspaceId, r.CampaignId, r.Occurrence, r.ScheduledFor, c.Schedule, c.EndAt, w.Timezone }).AsNoTracking().FirstAsync(ct);
        DateTime? next = null;
        var schedule = CompileStored(row.Schedule, row.Timezone);
        if (schedule is { IsRepeating: true })
        {
            // Normally the next slot after this one; after a misfire the next slot after now (no burst of catch-up runs).
            next = schedule.Next(misfired ? now : row.ScheduledFor, row.Occurrence);
            if (next is { } n && row.EndAt is { } end && n > end) next = null;
        }

        if (failure is not null)
        {
            log.LogError(failure, "Run {RunId} of campaign {CampaignId} failed to start", runId, row.CampaignId);
            await SetRunStatusAsync(db, runId, RunStatus.Starting, RunStatus.Failed, "Start failed: " + failure.Message, misfired, ct);
            if (schedule is not { IsRepeating: true })
            {
                var failable = CampaignStateMachine.From(CampaignTrigger.Fail);
                var reason = Truncate("Run start failed: " + failure.Message);
                await db.Set<Campaign>().Where(c => c.Id == row.CampaignId && failable.Contains(c.Status)).ExecuteUpdateAsync(s => s
                    .SetProperty(c => c.Status, CampaignStatus.Failed)
                    .SetProperty(c => c.StatusReason, reason)
                    .SetProperty(c => c.Version, c => c.Version + 1), ct);
                return new Outcome(runId, false, misfired, null, failure.Message);
            }
        }

        // Compare-and-set: the campaign may have been paused or cancelled since the run was claimed.
        var startable = CampaignStateMachine.From(CampaignTrigger.Start);
        var moved = await db.Set<Campaign>()
            .Where(c => c.Id == row.CampaignId && startable.Contains(c.Status))
            .ExecuteUpdateAsync(s => s
                .SetProperty(c => c.Status, CampaignStateMachine.Next(CampaignStatus.Approved, CampaignTrigger.Start))
                .SetProperty(c => c.NextRunAt, next)
                .SetProperty(c => c.UpdatedAt, now)
                .SetProperty(c => c.Version, c => c.Version + 1), ct);
        if (moved == 0)
        {
            await SetRunStatusAsync(db, runId, RunStatus.Starting, RunStatus.Cancelled, "The campaign was no longer approved or running at the run's time.", misfired, ct);
            return new Outcome(runId, false, misfired, null, "campaign not startable");
        }

        await CreateNextAsync(db, row.WorkspaceId, row.CampaignId, row.Occurrence, next, ct);
        if (failure is not null) return new Outcome(runId, false, misfired, next, failure.Message);
        string? note = null;
        if (misfired)
        {
            note = $"Misfire: due at {row.ScheduledFor:O}, started at {now:O} (the scheduler was not running at the due time).";
            log.LogWarning("Run {RunId} of campaign {CampaignId} misfired: due {Due:O}, started {Now:O}", runId, row.CampaignId, row.ScheduledFor, now);
        }
        // The starter may already have moved the run on (e.g. completed an empty audience): only starting -> running.
        if (await SetRunStatusAsync(db, runId, RunStatus.Starting, RunStatus.Running, note, misfired, ct) == 0 && misfired)
            await db.Set<CampaignRun>().Where(r => r.Id == runId).ExecuteUpdateAsync(s => s.SetProperty(r => r.Misfired, true).SetProperty(r => r.StatusReason, note), ct);
        metrics.RunsStarted.Add(1);
        return new Outcome(runId, true, misfired, next, null);
    }

    /// <summary>
    /// RunLeaseRenew: every third of the lease, moves the lease of the run this node is starting on, while it is
    /// still starting. A failed renewal is only logged: the next one may succeed before the lease passes, and if
    /// none does, another node claiming the run is the intended outcome (starts of one run are serialized).
    /// </summary>
    private async Task HeartbeatAsync(long runId, CancellationToken ct)
    {
        // A periodic timer keeps its beat while a renewal is still being written (a tick that comes meanwhile is kept
        // for the next wait); a delay started after each renewal drifted by the renewal's time and, on a test's fake
        // clock advanced in that gap, missed the tick altogether.
        using var timer = new PeriodicTimer(_lease / 3, clock);
        while (true)
        {
            try
            {
                if (!await timer.WaitForNextTickAsync(ct)) return;
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
                var until = LeaseFrom(clock.GetUtcNow().UtcDateTime);
                await db.Set<CampaignRun>().Where(r => r.Id == runId && r.Status == RunStatus.Starting)
                    .ExecuteUpdateAsync(s => s.SetProperty(r => r.LeaseUntil, until), ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e) { log.LogWarning(e, "Could not renew the start lease of run {RunId}", runId); }
        }
    }

    private async Task CreateNextAsync(HeraldDb db, long workspaceId, long campaignId, int occurrence, DateTime? next, CancellationToken ct)
    {
        if (next is not { } due) return;
        db.Set<CampaignRun>().Add(new CampaignRun
        {
            WorkspaceId = workspaceId, CampaignId = campaignId, Occurrence = occurrence + 1, ScheduledFor = due, Status = RunStatus.Scheduled,
        });
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // The next occurrence exists already (this run was claimed again after a node died mid-start).
            db.ChangeTracker.Clear();
            return;
        }
        await signal.NotifyAsync(db, ct);
    }

    private static string Truncate(string s) => s.Length <= 500 ? s : s[..500];

    private static Task<int> SetRunStatusAsync(HeraldDb db, long runId, string from, string to, string? reason, bool misfired, CancellationToken ct)
    {
        var text = reason is null ? null : Truncate(reason);
        return db.Set<CampaignRun>().Where(r => r.Id == runId && r.Status == from).ExecuteUpdateAsync(s => s
            .SetProperty(r => r.Status, to)
            .SetProperty(r => r.Misfired, r => r.Misfired || misfired)
            .SetProperty(r => r.StatusReason, r => text ?? r.StatusReason), ct);
    }

    /// <summary>The campaign's stored schedule, compiled (stored schedules were validated when saved).</summary>
    public static Schedule? CompileStored(Campaign c, string workspaceZone) => CompileStored(c.Schedule, workspaceZone);

    public static Schedule? CompileStored(string scheduleJson, string workspaceZone)
    {
        var def = JsonSerializer.Deserialize<ScheduleDefinition>(scheduleJson, HeraldJson.Options) ?? new ScheduleDefinition { Type = "now" };
        return def.Compile(workspaceZone, DateTime.MinValue, new Validation(), checkPast: false);
    }
}
