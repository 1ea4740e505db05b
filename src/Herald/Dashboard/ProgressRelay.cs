using Herald.Delivery;

namespace Herald.Dashboard;

/// <summary>
/// Moves the delivery engine's progress stream (<see cref="IDeliveryProgress"/>) to the dashboard's
/// <see cref="LiveUpdates"/>, so an open campaign page updates as batches are recorded, without polling.
/// </summary>
internal sealed class ProgressRelay(IDeliveryProgress progress, LiveUpdates live) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var p in progress.Reader.ReadAllAsync(stoppingToken))
                live.PublishCampaignProgress(new CampaignProgress
                {
                    WorkspaceId = p.WorkspaceId, CampaignId = p.CampaignId, RunId = p.RunId, Status = p.Status,
                    Total = p.Total, Pending = p.Pending, Sent = p.Sent, Failed = p.Failed, Skipped = p.Skipped, Unknown = p.Unknown, At = p.At,
                });
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
