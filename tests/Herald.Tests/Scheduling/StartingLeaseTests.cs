using System.Net;
using Herald.Auth;
using Herald.Campaigns;
using Herald.Scheduling;
using Herald.Tests.Campaigns;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Scheduling;

/// <summary>A run starter that, after <see cref="HoldNext"/>, does not return until released or cancelled (a slow materialization).</summary>
public sealed class HoldingRunStarter : IRunStarter
{
    private volatile TaskCompletionSource? _release;
    private volatile TaskCompletionSource _entered = NewSource();

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completed when a held start has begun (the launcher's heartbeat is running by then).</summary>
    public Task Entered => _entered.Task;

    public void HoldNext()
    {
        _entered = NewSource();
        _release = NewSource();
    }

    public void Release() => _release?.TrySetResult();

    public async Task StartAsync(long runId, CancellationToken ct)
    {
        if (_release is { } hold)
        {
            _entered.TrySetResult();
            await hold.Task.WaitAsync(ct);
        }
    }
}

/// <summary>Herald on a fake clock whose run starts hang until released; background roles off.</summary>
public sealed class StartingLeaseApp : SchedulerApp
{
    public StartingLeaseApp()
    {
        ConfigureTestServices = s => s.AddSingleton<IRunStarter>(new HoldingRunStarter());
    }

    public HoldingRunStarter Holding => (HoldingRunStarter)Services.GetRequiredService<IRunStarter>();
}

/// <summary>
/// A run's start is leased like a delivery batch: the node materializing it renews the lease, and a node that dies
/// while the run is <c>starting</c> gives it up when the lease passes (default 30 s), not after minutes.
/// </summary>
public sealed class StartingLeaseTests(StartingLeaseApp app) : IClassFixture<StartingLeaseApp>
{
    private static readonly TimeSpan Lease = new SchedulerOptions().StartingLease;

    private CampaignScheduler Node(string name)
    {
        var s = ActivatorUtilities.CreateInstance<CampaignScheduler>(app.Services);
        s.Node = name;
        return s;
    }

    private async Task<(long CampaignId, DateTime At)> DueNowAsync()
    {
        var ws = await app.CreateWorkspaceAsync();
        var at = app.Now.AddMinutes(1);
        var c = await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/campaigns", CampaignBodies.Sms(schedule: CampaignBodies.Once(at)))).ExpectAsync(HttpStatusCode.Created);
        var id = c.GetProperty("id").GetString()!;
        await (await ws.Client(Role.Editor).PostJsonAsync($"/api/v1/campaigns/{id}/submit", new { })).ExpectAsync(HttpStatusCode.OK);
        app.Clock!.Advance(at - app.Now);
        return (long.Parse(id), at);
    }

    private Task<CampaignRun> RunAsync(long campaignId) =>
        app.WithDbAsync(db => db.Set<CampaignRun>().AsNoTracking().SingleAsync(r => r.CampaignId == campaignId));

    private async Task<CampaignRun> EventuallyAsync(long campaignId, Func<CampaignRun, bool> condition, string what)
    {
        for (var i = 0; i < 400; i++)
        {
            var run = await RunAsync(campaignId);
            if (condition(run)) return run;
            await Task.Delay(25);
        }
        Assert.Fail(what);
        return null!;
    }

    [Fact]
    public async Task RunOnce_NodeDiesWhileStarting_AnotherNodeClaimsTheRunOnceItsLeasePasses()
    {
        var (campaignId, at) = await DueNowAsync();
        app.Holding.HoldNext();
        using var dies = new CancellationTokenSource();
        var a = Node("node-a");
        var pass = a.RunOnceAsync(at, dies.Token);
        await app.Holding.Entered.WaitAsync(TimeSpan.FromSeconds(30));
        await EventuallyAsync(campaignId, r => r.Status == RunStatus.Starting && r.ClaimedBy == "node-a", "node-a claimed the run");
        await dies.CancelAsync(); // node-a is gone mid-materialization: nothing of it runs any more
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pass);
        app.Holding.Release();

        var b = Node("node-b");
        var early = await b.RunOnceAsync(at + Lease - TimeSpan.FromSeconds(1));
        Assert.Equal(0, early.Claimed);
        Assert.Equal(RunStatus.Starting, (await RunAsync(campaignId)).Status);
        Assert.True(early.NextDueAt <= at + Lease, $"node-b sleeps past the lease: next due {early.NextDueAt:O}");

        var late = await b.RunOnceAsync(at + Lease + TimeSpan.FromSeconds(1));
        Assert.Equal(1, late.Started);
        var run = await RunAsync(campaignId);
        Assert.Equal(RunStatus.Running, run.Status);
        Assert.Equal("node-b", run.ClaimedBy);
    }

    [Fact]
    public async Task RunOnce_SlowStartOnALiveNode_HeartbeatKeepsTheLeaseNoOtherNodeClaims()
    {
        var (campaignId, at) = await DueNowAsync();
        app.Holding.HoldNext();
        var a = Node("node-a");
        var pass = a.RunOnceAsync(at);
        await app.Holding.Entered.WaitAsync(TimeSpan.FromSeconds(30));
        var run = await EventuallyAsync(campaignId, r => r.Status == RunStatus.Starting && r.ClaimedBy == "node-a", "node-a claimed the run");
        Assert.Equal(at + Lease, run.LeaseUntil);

        var b = Node("node-b");
        // Three leases' worth of materializing: node-a renews every third of the lease.
        for (var i = 0; i < 9; i++)
        {
            app.Clock!.Advance(Lease / 3);
            var now = app.Now;
            await EventuallyAsync(campaignId, r => r.LeaseUntil >= now + Lease, $"node-a renewed the lease at {now:O}");
            Assert.Equal(0, (await b.RunOnceAsync(now)).Claimed);
        }

        app.Holding.Release();
        var result = await pass;
        Assert.Equal(1, result.Started);
        run = await RunAsync(campaignId);
        Assert.Equal(RunStatus.Running, run.Status);
        Assert.Equal("node-a", run.ClaimedBy);
    }
}
