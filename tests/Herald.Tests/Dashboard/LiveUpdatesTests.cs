using Herald.Campaigns;
using Herald.Dashboard;
using Microsoft.Extensions.Logging.Abstractions;

namespace Herald.Tests.Dashboard;

public sealed class LiveUpdatesTests
{
    private static CampaignProgress Progress(long ws, long campaign, int sent) =>
        CampaignProgress.From(new CampaignRun { Id = 1, WorkspaceId = ws, CampaignId = campaign, Status = RunStatus.Running, Total = 100, Pending = 100 - sent, Sent = sent },
            new DateTime(2026, 11, 25, 10, 0, 0, DateTimeKind.Utc));

    private static async Task<T> Within<T>(Task<T> task) =>
        await task.WaitAsync(TimeSpan.FromSeconds(10));

    [Fact]
    public async Task PublishCampaignProgress_SubscriberOfWorkspace_ReceivesTheEvent()
    {
        var live = new LiveUpdates(NullLogger<LiveUpdates>.Instance);
        var got = new TaskCompletionSource<CampaignProgress>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sub = live.SubscribeCampaignProgress(7, null, p => { got.TrySetResult(p); return Task.CompletedTask; });

        live.PublishCampaignProgress(Progress(7, 42, sent: 30));

        var p = await Within(got.Task);
        Assert.Equal(42, p.CampaignId);
        Assert.Equal(30, p.Sent);
    }

    [Fact]
    public async Task PublishCampaignProgress_OtherWorkspaceOrCampaign_IsNotDelivered()
    {
        var live = new LiveUpdates(NullLogger<LiveUpdates>.Instance);
        var otherTenant = 0;
        var otherCampaign = 0;
        var mine = new TaskCompletionSource<CampaignProgress>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var a = live.SubscribeCampaignProgress(1, null, _ => { Interlocked.Increment(ref otherTenant); return Task.CompletedTask; });
        using var b = live.SubscribeCampaignProgress(2, 99, _ => { Interlocked.Increment(ref otherCampaign); return Task.CompletedTask; });
        using var c = live.SubscribeCampaignProgress(2, 42, p => { mine.TrySetResult(p); return Task.CompletedTask; });

        live.PublishCampaignProgress(Progress(2, 42, sent: 5));

        Assert.Equal(42, (await Within(mine.Task)).CampaignId);
        // Filtering happens before any handler is scheduled, so nothing can still be on its way to a or b.
        Assert.Equal(0, otherTenant);
        Assert.Equal(0, otherCampaign);
    }

    [Fact]
    public async Task Dispose_Subscription_StopsDelivery()
    {
        var live = new LiveUpdates(NullLogger<LiveUpdates>.Instance);
        var calls = 0;
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sub = live.SubscribeCampaignProgress(3, null, _ => { Interlocked.Increment(ref calls); first.TrySetResult(); return Task.CompletedTask; });
        live.PublishCampaignProgress(Progress(3, 1, sent: 1));
        await first.Task.WaitAsync(TimeSpan.FromSeconds(10));

        sub.Dispose();
        live.PublishCampaignProgress(Progress(3, 1, sent: 2));

        Assert.Equal(0, live.SubscriberCount);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task PublishCampaignProgress_FailingOrSlowSubscriber_DoesNotBlockPublisherOrOthers()
    {
        var live = new LiveUpdates(NullLogger<LiveUpdates>.Instance);
        var never = new TaskCompletionSource();
        var got = new TaskCompletionSource<CampaignProgress>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var slow = live.SubscribeCampaignProgress(4, null, _ => never.Task);
        using var broken = live.SubscribeCampaignProgress(4, null, _ => throw new InvalidOperationException("page gone"));
        using var ok = live.SubscribeCampaignProgress(4, null, p => { got.TrySetResult(p); return Task.CompletedTask; });

        live.PublishCampaignProgress(Progress(4, 8, sent: 10));

        Assert.Equal(10, (await Within(got.Task)).Sent);
    }
}
