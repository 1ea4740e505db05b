using Herald.Delivery;

namespace Herald.Dashboard;

/// <summary>
/// Forwards the delivery engine's progress events (<see cref="IDeliveryProgress"/>) to the dashboard's
/// <see cref="LiveUpdates"/>, so an open campaign page updates as batches are recorded, without polling.
/// </summary>
internal sealed class ProgressRelay(IDeliveryProgress progress, LiveUpdates live) : IHostedService
{
    private IDisposable? _subscription;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _subscription = progress.Subscribe(p => live.PublishCampaignProgress(new CampaignProgress
        {
            WorkspaceId = p.WorkspaceId, CampaignId = p.CampaignId, RunId = p.RunId, Status = p.Status,
            Total = p.Total, Pending = p.Pending, Sent = p.Sent, Failed = p.Failed, Skipped = p.Skipped, Unknown = p.Unknown, At = p.At,
        }));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _subscription?.Dispose();
        return Task.CompletedTask;
    }
}
