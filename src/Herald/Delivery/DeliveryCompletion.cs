using System.Globalization;
using System.Text.Json;
using Herald.Campaigns;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Herald.Delivery;

/// <summary>
/// After counters move: completes a run whose pending counter reached zero (a conditional UPDATE, so exactly
/// one node sees it happen), auto-pauses a run whose failure share passed the limit, and publishes progress.
/// </summary>
public sealed class DeliveryCompletion(IDeliveryProgress progress, IOptions<DeliveryOptions> options, TimeProvider clock, ILogger<DeliveryCompletion> log)
{
    private readonly DeliveryOptions _o = options.Value;

    public async Task CheckRunsAsync(HeraldDb db, IReadOnlyCollection<long> runIds, CancellationToken ct)
    {
        foreach (var runId in runIds.Distinct())
        {
            var run = await db.Set<CampaignRun>().AsNoTracking().FirstOrDefaultAsync(r => r.Id == runId, ct);
            if (run is null) continue;
            var now = clock.GetUtcNow().UtcDateTime;
            var t = db.IsPostgres ? (object)now : Sql.SqliteTime(now);
            if (run.Pending <= 0 && run.Status is RunStatus.Running or RunStatus.Cancelled && run.FinishedAt is null)
            {
                // RunComplete: the status guard makes completion happen once even when two nodes finish the last batches together;
                // a run whose audience is still being written in chunks (resumed from a pause meanwhile) is not done yet.
                // A journey step's run stays open: the journey keeps adding deliveries to it as contacts reach the step.
                var done = await Sql.ExecAsync(db, """
                    UPDATE campaign_run SET status = CASE WHEN status = 'running' THEN 'completed' ELSE status END, finished_at = @now
                    WHERE id = @r AND pending <= 0 AND finished_at IS NULL AND status IN ('running', 'cancelled') AND NOT materializing
                      AND NOT EXISTS (SELECT 1 FROM campaign c WHERE c.id = campaign_run.campaign_id AND c.journey_id IS NOT NULL AND campaign_run.status = 'running')
                    """, ct, ("now", t), ("r", runId));
                if (done == 1 && run.Status == RunStatus.Running)
                {
                    run.Status = RunStatus.Completed;
                    await CompleteCampaignAsync(db, run.CampaignId, now, ct);
                    log.LogInformation("Run {RunId} completed: {Sent} sent, {Failed} failed, {Skipped} skipped, {Unknown} unknown", runId, run.Sent, run.Failed, run.Skipped, run.Unknown);
                }
            }
            else if (run.Status == RunStatus.Running && run.Sent + run.Failed >= _o.AutoPauseMinSample
                     && run.Failed > _o.AutoPauseFailureShare * (run.Sent + run.Failed))
            {
                var reason = string.Create(CultureInfo.InvariantCulture,
                    $"paused: failure rate {100.0 * run.Failed / (run.Sent + run.Failed):F0}% passed {100 * _o.AutoPauseFailureShare:F0}% after {run.Sent + run.Failed} sends");
                var paused = await Sql.ExecAsync(db, "UPDATE campaign_run SET status = 'paused', status_reason = @why WHERE id = @r AND status = 'running'",
                    ct, ("why", reason), ("r", runId));
                if (paused == 1)
                {
                    // 'approved' too: the launcher moves the campaign to running only after the run's deliveries exist, and
                    // workers on other nodes (woken by NOTIFY) can fail enough of them to pause the run before that.
                    await Sql.ExecAsync(db, "UPDATE campaign SET status = 'paused', status_reason = @why, updated_at = @now WHERE id = @c AND status IN ('running', 'approved')",
                        ct, ("why", reason), ("now", t), ("c", run.CampaignId));
                    run.Status = RunStatus.Paused;
                    run.StatusReason = reason;
                    log.LogWarning("Run {RunId} {Reason}", runId, reason);
                }
            }
            progress.Publish(new RunProgress(run.WorkspaceId, run.CampaignId, run.Id, run.Status, run.StatusReason, run.Total, run.Pending,
                run.Sent, run.Failed, run.Skipped, run.Unknown, now));
        }
    }

    public void Publish(RunProgress p) => progress.Publish(p);

    /// <summary>A one-time campaign completes with its run; recurring ones keep their schedule.</summary>
    private static async Task CompleteCampaignAsync(HeraldDb db, long campaignId, DateTime now, CancellationToken ct)
    {
        var schedule = await db.Set<Campaign>().AsNoTracking().Where(c => c.Id == campaignId).Select(c => c.Schedule).FirstOrDefaultAsync(ct);
        var type = "now";
        try
        {
            using var doc = JsonDocument.Parse(schedule ?? "{}");
            if (doc.RootElement.TryGetProperty("type", out var ty)) type = ty.GetString() ?? "now";
        }
        catch (JsonException) { }
        if (type is "recurring" or "cron") return;
        await Sql.ExecAsync(db, "UPDATE campaign SET status = 'completed', status_reason = NULL, updated_at = @now WHERE id = @c AND status IN ('running', 'approved')",
            ct, ("now", db.IsPostgres ? now : Sql.SqliteTime(now)), ("c", campaignId));
    }
}
