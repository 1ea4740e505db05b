using System.Net;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Tracking;

/// <summary>Stats of a sending run come from a per-node snapshot at most StatsSnapshotMaxAge (1 s) old; anything else is read fresh.</summary>
public sealed class CampaignStatsSnapshotTests : IAsyncLifetime
{
    private readonly TrackingApp _app = new();

    public Task InitializeAsync() => _app.InitializeAsync();
    public Task DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public async Task Stats_WhileSending_AreAtMostOneSecondOld_AndFreshOnceTheRunIsDone()
    {
        var ws = await _app.CreateWorkspaceAsync();
        var (campaignId, runId, _) = await TrackingKit.SendAsync(_app, ws, contacts: 3, drain: false);
        var sending = await TrackingKit.StatsAsync(ws, campaignId);
        Assert.Equal(("running", 3, 0), (sending.GetProperty("status").GetString(), sending.I("pending"), sending.I("sent")));

        await _app.DrainAsync(); // every message sent and the run completed
        var within = await TrackingKit.StatsAsync(ws, campaignId);
        Assert.Equal((3, 0), (within.I("pending"), within.I("sent")));
        // The snapshot is the caller's workspace's only: another workspace still gets a 404, not the cached figures.
        var other = await _app.CreateWorkspaceAsync("other");
        Assert.Equal(HttpStatusCode.NotFound, (await other.Client(Herald.Auth.Role.Viewer).GetAsync($"/api/v1/campaigns/{campaignId}/stats")).StatusCode);

        _app.Clock!.Advance(TimeSpan.FromSeconds(1));
        var after = await TrackingKit.StatsAsync(ws, campaignId);
        Assert.Equal(("completed", 0, 3), (after.GetProperty("status").GetString(), after.I("pending"), after.I("sent")));
        // One run's stats are their own snapshot: never read while sending, so fresh.
        Assert.Equal(3, (await TrackingKit.StatsAsync(ws, campaignId, runId)).I("sent"));

        // Finished: no snapshot any more, an open shows on the very next read.
        _app.Clock.Advance(TimeSpan.FromMinutes(3));
        var m = (await TrackingKit.OutboxAsync(_app, campaignId))[0];
        Assert.Equal(HttpStatusCode.OK, (await _app.Reader().GetAsync(m.Pixel)).StatusCode);
        Assert.Equal(1, (await TrackingKit.StatsAsync(ws, campaignId)).I("opened"));
    }

    [Fact]
    public async Task Stats_WithSnapshotsOff_AreReadFreshWhileSending()
    {
        var app = new TrackingApp { Settings = { ["Herald:Tracking:StatsSnapshotMaxAge"] = "00:00:00" } };
        await app.InitializeAsync();
        try
        {
            var ws = await app.CreateWorkspaceAsync();
            var (campaignId, _, _) = await TrackingKit.SendAsync(app, ws, contacts: 2, drain: false);
            Assert.Equal(2, (await TrackingKit.StatsAsync(ws, campaignId)).I("pending"));
            await app.DrainAsync();
            Assert.Equal(2, (await TrackingKit.StatsAsync(ws, campaignId)).I("sent"));
        }
        finally
        {
            await app.DisposeAsync();
        }
    }
}
