using Herald.Campaigns;
using Herald.Delivery;
using Herald.Storage;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Herald.Tests.Delivery;

/// <summary>Real hosted workers: several nodes on one PostgreSQL database (SQLite has one owner process by design).</summary>
public sealed class MultiNodeTests(DeliveryApp owner) : IClassFixture<DeliveryApp>
{
    [PostgresFact]
    public async Task TwoHosts_TenThousandRecipients_NoneSentTwiceNoneLost()
    {
        var sends = new FakeSends();
        var ws = await owner.CreateWorkspaceAsync();
        await DeliverySeed.ChannelAsync(owner, ws.Id);
        await DeliverySeed.ManyAsync(owner, ws.Id, 10_000);
        var (_, runId) = await DeliverySeed.CampaignAsync(owner, ws.Id);
        await using var a = new WorkerApp(sends, "node-a", owner.Database.ConnectionString);
        await using var b = new WorkerApp(sends, "node-b", owner.Database.ConnectionString);
        await a.InitializeAsync();
        await b.InitializeAsync();

        await DeliverySeed.StartAsync(a, runId);
        var run = await DeliverySeed.WaitFinishedAsync(owner, runId, TimeSpan.FromSeconds(120));

        Assert.Equal((RunStatus.Completed, 10_000), (run.Status, run.Sent));
        var rows = await DeliverySeed.DeliveriesAsync(owner, runId);
        Assert.Equal(10_000, sends.Sends.Count);
        Assert.All(rows, r => Assert.Equal(1, sends.Sends[r.Id]));
        Assert.Equal(["node-a", "node-b"], sends.Log.Select(l => l.Node).Distinct().Order().ToArray());
        await DeliverySeed.AssertCountersMatchRowsAsync(owner, runId);
    }

    [PostgresFact]
    public async Task HostStoppedMidRun_LeasesExpireAndTheOtherHostCompletesTheRun()
    {
        var sends = new FakeSends();
        var ws = await owner.CreateWorkspaceAsync();
        await DeliverySeed.ChannelAsync(owner, ws.Id);
        await DeliverySeed.ManyAsync(owner, ws.Id, 2000);
        var (_, runId) = await DeliverySeed.CampaignAsync(owner, ws.Id);
        sends.HangNodes["node-a"] = true;
        var a = new WorkerApp(sends, "node-a", owner.Database.ConnectionString, leaseSeconds: 2);
        await a.InitializeAsync();
        await DeliverySeed.StartAsync(a, runId);
        // Wait until node A holds leases, then stop it: its batches stay unrecorded under its leases (first-pass
        // ranges: one lease row per batch, the rows still pending).
        var until = DateTime.UtcNow.AddSeconds(30);
        while (await owner.WithDbAsync(db => db.Set<DeliveryLease>().CountAsync(l => l.RunId == runId && l.Owner == "node-a")) == 0)
        {
            Assert.True(DateTime.UtcNow < until, "node A never claimed");
            await Task.Delay(50);
        }
        await a.DisposeAsync();
        var orphaned = await DeliverySeed.InFlightAsync(owner, runId, "node-a");
        Assert.NotEmpty(orphaned);

        await using var b = new WorkerApp(sends, "node-b", owner.Database.ConnectionString, leaseSeconds: 2);
        await b.InitializeAsync();
        var run = await DeliverySeed.WaitFinishedAsync(owner, runId, TimeSpan.FromSeconds(120));

        Assert.Equal((RunStatus.Completed, 2000, 0), (run.Status, run.Sent, run.Unknown));
        Assert.All(orphaned, id => Assert.Equal(1, sends.Sends[id])); // email is at_least_once: resent by B, once
        Assert.Equal(["node-b"], sends.Log.Select(l => l.Node).Distinct().ToArray());
        await DeliverySeed.AssertCountersMatchRowsAsync(owner, runId);
    }
}

/// <summary>The hosted worker on the provider under test: a started run wakes it and completes without a test driving passes.</summary>
public sealed class WorkerHostTests(DeliveryApp owner) : IClassFixture<DeliveryApp>
{
    [Fact]
    public async Task WorkerHost_RunStarted_DeliversEverythingAndCompletes()
    {
        var sends = new FakeSends();
        var ws = await owner.CreateWorkspaceAsync();
        await DeliverySeed.ChannelAsync(owner, ws.Id);
        await DeliverySeed.ManyAsync(owner, ws.Id, 3000);
        var (_, runId) = await DeliverySeed.CampaignAsync(owner, ws.Id);
        await using var w = new WorkerApp(sends, "solo", owner.Database.ConnectionString, batchSize: 500);
        await w.InitializeAsync();
        await DeliverySeed.StartAsync(w, runId);
        var run = await DeliverySeed.WaitFinishedAsync(owner, runId, TimeSpan.FromSeconds(60));
        Assert.Equal((RunStatus.Completed, 3000), (run.Status, run.Sent));
        Assert.Equal(3000, sends.Sends.Count);
        await DeliverySeed.AssertCountersMatchRowsAsync(owner, runId);
    }

    [Fact]
    public async Task RateLimit_ProviderPerSecond_IsHonoured()
    {
        var sends = new FakeSends();
        var ws = await owner.CreateWorkspaceAsync();
        await DeliverySeed.ChannelAsync(owner, ws.Id, perSecond: 50);
        await DeliverySeed.ManyAsync(owner, ws.Id, 200);
        var (_, runId) = await DeliverySeed.CampaignAsync(owner, ws.Id);
        await using var w = new WorkerApp(sends, "limited", owner.Database.ConnectionString, batchSize: 500);
        await w.InitializeAsync();
        await DeliverySeed.StartAsync(w, runId);
        await DeliverySeed.WaitFinishedAsync(owner, runId, TimeSpan.FromSeconds(60));

        var times = sends.Log.Select(l => l.At).Order().ToList();
        Assert.Equal(200, times.Count);
        // A full bucket (one second's worth, 50) may go at once; the remaining 150 need 3 s at 50/s.
        var span = (times[^1] - times[0]).TotalSeconds;
        Assert.InRange(span, 2.7, 6);
        for (var i = 0; i + 100 < times.Count; i++)
            Assert.True((times[i + 100] - times[i]).TotalSeconds >= 0.95, $"101 sends within {(times[i + 100] - times[i]).TotalSeconds:F2} s");
    }
}
