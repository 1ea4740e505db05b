using System.Collections.Concurrent;

namespace Herald.Dashboard;

/// <summary>
/// A campaign run's progress, published by the delivery engine after each batch it settles.
/// Counts are the run's totals so far (not increments), so a subscriber that missed an event still
/// shows the right numbers on the next one. Build it with <see cref="From"/> from the saved run.
/// </summary>
public sealed record CampaignProgress
{
    public required long WorkspaceId { get; init; }
    public required long CampaignId { get; init; }
    public required long RunId { get; init; }
    /// <summary>A <see cref="Campaigns.RunStatus"/> value.</summary>
    public required string Status { get; init; }
    public int Total { get; init; }
    public int Pending { get; init; }
    public int Sent { get; init; }
    public int Delivered { get; init; }
    public int Read { get; init; }
    public int Failed { get; init; }
    public int Skipped { get; init; }
    public int Unknown { get; init; }
    public int Opened { get; init; }
    public int Clicked { get; init; }
    public int Converted { get; init; }
    public int Unsubscribed { get; init; }
    public int Bounced { get; init; }
    /// <summary>When the counts were read (UTC).</summary>
    public DateTime At { get; init; }

    public static CampaignProgress From(Campaigns.CampaignRun run, DateTime at) => new()
    {
        WorkspaceId = run.WorkspaceId, CampaignId = run.CampaignId, RunId = run.Id, Status = run.Status,
        Total = run.Total, Pending = run.Pending, Sent = run.Sent, Delivered = run.Delivered, Read = run.Read, Failed = run.Failed,
        Skipped = run.Skipped, Unknown = run.Unknown, Opened = run.Opened, Clicked = run.Clicked, Converted = run.Converted,
        Unsubscribed = run.Unsubscribed, Bounced = run.Bounced, At = at,
    };
}

/// <summary>
/// In-process publish/subscribe for live dashboard updates. A Blazor Server page is already a live
/// circuit, so pushing is just calling the page: no SignalR hub or polling needed. One node only:
/// events published on another node (a worker elsewhere) do not arrive here; a page that must see
/// them also reloads from the database when it opens.
/// </summary>
/// <remarks>
/// Publishing never blocks on or fails because of a subscriber: handlers run on the thread pool and
/// their exceptions are logged and swallowed. Subscriptions are scoped to a workspace, so a page never
/// sees another tenant's events. Dispose the returned handle (in the component's Dispose) to stop.
/// </remarks>
public sealed class LiveUpdates(ILogger<LiveUpdates> log)
{
    private readonly ConcurrentDictionary<Guid, Subscription> _subs = new();

    /// <summary>Receives every progress event of <paramref name="workspaceId"/>, optionally only for one campaign.</summary>
    public IDisposable SubscribeCampaignProgress(long workspaceId, long? campaignId, Func<CampaignProgress, Task> handler)
    {
        var id = Guid.NewGuid();
        _subs[id] = new Subscription(workspaceId, campaignId, handler);
        return new Unsubscriber(this, id);
    }

    /// <summary>Tells the subscribers of the event's workspace (and campaign); returns at once.</summary>
    public void PublishCampaignProgress(CampaignProgress progress)
    {
        foreach (var s in _subs.Values)
        {
            if (s.WorkspaceId != progress.WorkspaceId || (s.CampaignId is { } c && c != progress.CampaignId)) continue;
            _ = RunAsync(s.Handler, progress);
        }
    }

    /// <summary>Number of live subscriptions (for tests and diagnostics).</summary>
    public int SubscriberCount => _subs.Count;

    private async Task RunAsync(Func<CampaignProgress, Task> handler, CampaignProgress progress)
    {
        try
        {
            await Task.Yield();
            await handler(progress);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "A live-update subscriber failed for campaign {CampaignId}", progress.CampaignId);
        }
    }

    private sealed record Subscription(long WorkspaceId, long? CampaignId, Func<CampaignProgress, Task> Handler);

    private sealed class Unsubscriber(LiveUpdates owner, Guid id) : IDisposable
    {
        public void Dispose() => owner._subs.TryRemove(id, out _);
    }
}
