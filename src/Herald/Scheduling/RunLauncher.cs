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
public sealed class RunLauncher(IServiceScopeFactory scopes, SchedulerSignal signal, TimeProvider clock, HeraldMetrics metrics, ILogger<RunLauncher> log)
{
    public sealed record Outcome(long RunId, bool Started, bool Misfired, DateTime? NextRunAt, string? Error);

    /// <param name="misfired">The run is late because the server was down: a recurring schedule continues from the next future slot.</param>
    /// <param name="nowUtc">The scheduler's "now" (its pass time); null = the clock's.</param>
    public async Task<Outcome> LaunchAsync(long runId, bool misfired, DateTime? nowUtc, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
        var now = nowUtc ?? clock.GetUtcNow().UtcDateTime;
        var run = await db.Set<CampaignRun>().FirstAsync(r => r.Id == runId, ct);
        var campaign = await db.Set<Campaign>().AsNoTracking().FirstAsync(c => c.Id == run.CampaignId, ct);

        DateTime? next = null;
        var schedule = CompileStored(campaign, await WorkspaceZoneAsync(db, campaign.WorkspaceId, ct));
        if (schedule is { IsRepeating: true })
        {
            // Normally the next slot after this one; after a misfire the next slot after now (no burst of catch-up runs).
            next = schedule.Next(misfired ? now : run.ScheduledFor, run.Occurrence);
            if (next is { } n && campaign.EndAt is { } end && n > end) next = null;
        }

        // Compare-and-set: the campaign may have been paused or cancelled since the run was claimed.
        var startable = CampaignStateMachine.From(CampaignTrigger.Start);
        var moved = await db.Set<Campaign>()
            .Where(c => c.Id == campaign.Id && startable.Contains(c.Status))
            .ExecuteUpdateAsync(s => s
                .SetProperty(c => c.Status, CampaignStateMachine.Next(CampaignStatus.Approved, CampaignTrigger.Start))
                .SetProperty(c => c.NextRunAt, next)
                .SetProperty(c => c.UpdatedAt, now)
                .SetProperty(c => c.Version, c => c.Version + 1), ct);
        if (moved == 0)
        {
            await SetRunStatusAsync(db, runId, RunStatus.Starting, RunStatus.Cancelled, "The campaign was no longer approved or running at the run's time.", ct);
            return new Outcome(runId, false, misfired, null, "campaign not startable");
        }

        run.Misfired = misfired;
        if (misfired)
        {
            run.StatusReason = $"Misfire: due at {run.ScheduledFor:O}, started at {now:O} (the scheduler was not running at the due time).";
            log.LogWarning("Run {RunId} of campaign {CampaignId} misfired: due {Due:O}, starting {Now:O}", runId, campaign.Id, run.ScheduledFor, now);
        }
        if (next is { } due)
            db.Set<CampaignRun>().Add(new CampaignRun
            {
                WorkspaceId = run.WorkspaceId, CampaignId = run.CampaignId, Occurrence = run.Occurrence + 1, ScheduledFor = due, Status = RunStatus.Scheduled,
            });
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException) when (next is not null)
        {
            // The next occurrence exists already (this run was claimed again after a node died mid-start).
            db.ChangeTracker.Clear();
            await db.Set<CampaignRun>().Where(r => r.Id == runId).ExecuteUpdateAsync(s => s
                .SetProperty(r => r.Misfired, misfired).SetProperty(r => r.StatusReason, run.StatusReason), ct);
        }
        if (next is not null) await signal.NotifyAsync(db, ct);

        var starter = scope.ServiceProvider.GetService<IRunStarter>();
        try
        {
            if (starter is null) log.LogWarning("No run starter is registered; run {RunId} has nothing to deliver", runId);
            else await starter.StartAsync(runId, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            log.LogError(e, "Run {RunId} of campaign {CampaignId} failed to start", runId, campaign.Id);
            await SetRunStatusAsync(db, runId, RunStatus.Starting, RunStatus.Failed, "Start failed: " + e.Message, ct);
            if (schedule is not { IsRepeating: true })
            {
                var failable = CampaignStateMachine.From(CampaignTrigger.Fail);
                await db.Set<Campaign>().Where(c => c.Id == campaign.Id && failable.Contains(c.Status)).ExecuteUpdateAsync(s => s
                    .SetProperty(c => c.Status, CampaignStatus.Failed)
                    .SetProperty(c => c.StatusReason, Truncate("Run start failed: " + e.Message))
                    .SetProperty(c => c.Version, c => c.Version + 1), ct);
            }
            return new Outcome(runId, false, misfired, next, e.Message);
        }
        // The starter may already have moved the run on (e.g. completed an empty audience): only starting -> running.
        await SetRunStatusAsync(db, runId, RunStatus.Starting, RunStatus.Running, null, ct);
        metrics.RunsStarted.Add(1);
        return new Outcome(runId, true, misfired, next, null);
    }

    private static string Truncate(string s) => s.Length <= 500 ? s : s[..500];

    private static Task<int> SetRunStatusAsync(HeraldDb db, long runId, string from, string to, string? reason, CancellationToken ct)
    {
        var text = reason is null ? null : Truncate(reason);
        return db.Set<CampaignRun>().Where(r => r.Id == runId && r.Status == from).ExecuteUpdateAsync(s => s
            .SetProperty(r => r.Status, to)
            .SetProperty(r => r.StatusReason, r => text ?? r.StatusReason), ct);
    }

    internal static async Task<string> WorkspaceZoneAsync(HeraldDb db, long workspaceId, CancellationToken ct) =>
        await db.Set<Workspace>().Where(w => w.Id == workspaceId).Select(w => w.Timezone).FirstAsync(ct);

    /// <summary>The campaign's stored schedule, compiled (stored schedules were validated when saved).</summary>
    public static Schedule? CompileStored(Campaign c, string workspaceZone)
    {
        var def = JsonSerializer.Deserialize<ScheduleDefinition>(c.Schedule, HeraldJson.Options) ?? new ScheduleDefinition { Type = "now" };
        return def.Compile(workspaceZone, DateTime.MinValue, new Validation(), checkPast: false);
    }
}
