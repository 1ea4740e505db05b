using Herald.Campaigns;
using Herald.Channels;
using Herald.Delivery;
using Herald.Storage;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Delivery;

/// <summary>A delivery host on a fake clock (Wednesday 2026-11-25 10:00 UTC).</summary>
public sealed class FakeClockDeliveryApp() : DeliveryApp(new FakeSends(), "web", new DateTimeOffset(2026, 11, 25, 10, 0, 0, TimeSpan.Zero), null)
{
    public override async Task InitializeAsync()
    {
        Settings["Herald:Delivery:AutoPauseMinSample"] = "20";
        await base.InitializeAsync();
    }
}

public sealed class DeliveryWorkerTests(FakeClockDeliveryApp app) : IClassFixture<FakeClockDeliveryApp>
{
    private DateTime Now => app.Clock!.GetUtcNow().UtcDateTime;

    /// <summary>Moves the shared fake clock forward to the next <paramref name="day"/> at 10:00 UTC (tests share one clock).</summary>
    private DateTime AdvanceToNext(DayOfWeek day)
    {
        var t = Now.Date.AddHours(10);
        while (t <= Now || t.DayOfWeek != day) t = t.AddDays(1);
        app.Clock!.SetUtcNow(new DateTimeOffset(t, TimeSpan.Zero));
        return t;
    }

    [Fact]
    public async Task RunOnce_SandboxRun_SendsEveryoneRecordsOutboxAndCompletesOnce()
    {
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ManyAsync(app, ws.Id, 1200);
        var (campaignId, runId) = await DeliverySeed.CampaignAsync(app, ws.Id, now: Now);
        await DeliverySeed.StartAsync(app, runId);

        var passes = await app.DrainAsync();

        Assert.Equal(3, passes.Count); // 500 + 500 + 200
        var run = await DeliverySeed.RunAsync(app, runId);
        Assert.Equal(RunStatus.Completed, run.Status);
        Assert.NotNull(run.FinishedAt);
        Assert.Equal(1200, run.Sent);
        await DeliverySeed.AssertCountersMatchRowsAsync(app, runId);
        var outbox = await app.WithDbAsync(db => db.Set<OutboxMessage>().Where(o => o.CampaignId == campaignId).ToListAsync());
        Assert.Equal(1200, outbox.Count);
        Assert.Equal(1200, outbox.Select(o => o.DeliveryId).Distinct().Count());
        var one = outbox.Single(o => o.Address == "p7@example.com");
        Assert.Equal(("Hi N7", "Deals for N7"), (one.Subject, one.Body));
        Assert.Equal(CampaignStatus.Completed, await app.WithDbAsync(db => db.Set<Campaign>().Where(c => c.Id == campaignId).Select(c => c.Status).FirstAsync()));
    }

    [Fact]
    public async Task RunOnce_TransientFailures_RetriedWithBackoffThenSucceed()
    {
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ChannelAsync(app, ws.Id);
        await DeliverySeed.ContactsAsync(app, ws.Id, [("transient2-a@example.com", null, "T"), ("fine@example.com", null, "F")]);
        var (_, runId) = await DeliverySeed.CampaignAsync(app, ws.Id, now: Now);
        await DeliverySeed.StartAsync(app, runId);

        var first = await app.Engine.RunOnceAsync(default);
        Assert.Equal((1, 1), (first.Sent, first.Retried));
        var retry = (await DeliverySeed.DeliveriesAsync(app, runId)).Single(d => d.Address.StartsWith("transient2"));
        Assert.Equal((DeliveryStatus.Pending, 1, "503"), (retry.Status, retry.Attempts, retry.ErrorCode));
        Assert.InRange((retry.NextAttemptAt - Now).TotalSeconds, 1.8, 2.2); // 2 s base +-10%

        Assert.Equal(0, (await app.Engine.RunOnceAsync(default)).Claimed); // not due yet
        app.Clock!.Advance(TimeSpan.FromSeconds(2.3));
        Assert.Equal(1, (await app.Engine.RunOnceAsync(default)).Retried);
        retry = (await DeliverySeed.DeliveriesAsync(app, runId)).Single(d => d.Address.StartsWith("transient2"));
        Assert.InRange((retry.NextAttemptAt - Now).TotalSeconds, 3.6, 4.4); // second retry doubles
        app.Clock.Advance(TimeSpan.FromSeconds(4.5));
        Assert.Equal(1, (await app.Engine.RunOnceAsync(default)).Sent);

        Assert.Equal(3, app.Sends.Sends[retry.Id]);
        Assert.Equal(RunStatus.Completed, (await DeliverySeed.RunAsync(app, runId)).Status);
        await DeliverySeed.AssertCountersMatchRowsAsync(app, runId);
    }

    [Fact]
    public async Task RunOnce_PermanentFailure_NotRetriedAndBouncesAreSuppressed()
    {
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ChannelAsync(app, ws.Id);
        await DeliverySeed.ContactsAsync(app, ws.Id, [("permanent-x@example.com", null, "P"), ("bounce-y@example.com", null, "B")]);
        var (_, runId) = await DeliverySeed.CampaignAsync(app, ws.Id, now: Now);
        await DeliverySeed.StartAsync(app, runId);

        Assert.Equal(2, (await app.Engine.RunOnceAsync(default)).Failed);
        app.Clock!.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(0, (await app.Engine.RunOnceAsync(default)).Claimed);

        var rows = await DeliverySeed.DeliveriesAsync(app, runId);
        Assert.All(rows, r => Assert.Equal((DeliveryStatus.Failed, 1, "permanent"), (r.Status, r.Attempts, r.Reason)));
        Assert.Equal("invalid_address", rows.Single(r => r.Address.StartsWith("permanent")).ErrorCode);
        Assert.All(rows, r => Assert.Equal(1, app.Sends.Sends[r.Id]));
        var suppressed = await app.WithDbAsync(db => db.Set<Suppression>().Where(s => s.WorkspaceId == ws.Id).Select(s => s.Address).ToListAsync());
        Assert.Equal(["bounce-y@example.com"], suppressed);
        // The hard bounce (suppressed address) is counted for the stats' bounce rate; the invalid address is not a bounce.
        Assert.Equal((RunStatus.Completed, 1), ((await DeliverySeed.RunAsync(app, runId)).Status, (await DeliverySeed.RunAsync(app, runId)).Bounced));
        await DeliverySeed.AssertCountersMatchRowsAsync(app, runId);
    }

    [Fact]
    public async Task RunOnce_RetriesExhausted_FailsAfterMaxAttempts()
    {
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ChannelAsync(app, ws.Id);
        // transient2 fails twice; with 2 attempts allowed per options it would pass on the third: use hang-free address failing 2x and MaxAttempts 3 -> pass.
        await DeliverySeed.ContactsAsync(app, ws.Id, [("transient2-z@example.com", null, "Z")]);
        var (_, runId) = await DeliverySeed.CampaignAsync(app, ws.Id, now: Now);
        await DeliverySeed.StartAsync(app, runId);
        await app.Engine.RunOnceAsync(default);
        app.Clock!.Advance(TimeSpan.FromSeconds(3));
        await app.Engine.RunOnceAsync(default);
        app.Clock.Advance(TimeSpan.FromSeconds(5));
        await app.Engine.RunOnceAsync(default);
        var row = (await DeliverySeed.DeliveriesAsync(app, runId)).Single();
        Assert.Equal((DeliveryStatus.Sent, 3), (row.Status, row.Attempts));
    }

    [Fact]
    public async Task RunOnce_ManyFailures_AutoPausesRunWithReason()
    {
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ChannelAsync(app, ws.Id);
        await DeliverySeed.ContactsAsync(app, ws.Id, Enumerable.Range(0, 600).Select(i => ((string?)$"permanent-{i}@example.com", (string?)null, (string?)"P")));
        var (campaignId, runId) = await DeliverySeed.CampaignAsync(app, ws.Id, now: Now);
        await DeliverySeed.StartAsync(app, runId);
        var passes = await app.DrainAsync();
        Assert.Single(passes); // the first batch fails, the run pauses, nothing more is claimed
        var run = await DeliverySeed.RunAsync(app, runId);
        Assert.Equal(100, run.Pending);
        Assert.Equal(RunStatus.Paused, run.Status);
        Assert.StartsWith("paused: failure rate 100%", run.StatusReason);
        var campaign = await app.WithDbAsync(db => db.Set<Campaign>().FirstAsync(c => c.Id == campaignId));
        Assert.Equal(CampaignStatus.Paused, campaign.Status);
    }

    [Fact]
    public async Task Sweep_ExpiredLeases_FollowTheChannelsCrashPolicy()
    {
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ChannelAsync(app, ws.Id, ChannelNames.Email, crashPolicy: CrashPolicies.AtLeastOnce);
        await DeliverySeed.ChannelAsync(app, ws.Id, ChannelNames.Sms, crashPolicy: CrashPolicies.AtMostOnce);
        await DeliverySeed.ContactsAsync(app, ws.Id, Enumerable.Range(0, 10).Select(i => ((string?)$"c{i}@example.com", (string?)$"+1415555{i:0000}", (string?)"C")));
        var (_, runId) = await DeliverySeed.CampaignAsync(app, ws.Id, [ChannelNames.Email, ChannelNames.Sms], now: Now);
        await DeliverySeed.StartAsync(app, runId);
        // A node claimed everything and died: rows stay 'sending' under its lease.
        await app.WithDbAsync(db => db.Set<DeliveryRow>().Where(d => d.RunId == runId).ExecuteUpdateAsync(u => u
            .SetProperty(d => d.Status, DeliveryStatus.Sending).SetProperty(d => d.LeaseOwner, "dead-node")
            .SetProperty(d => d.LeaseUntil, Now.AddSeconds(60)).SetProperty(d => d.Attempts, 1)));

        Assert.Equal(new SweepResult(0, 0, 0), await app.Engine.SweepAsync(default)); // lease still valid
        app.Clock!.Advance(TimeSpan.FromSeconds(61));
        var swept = await app.Engine.SweepAsync(default);

        Assert.Equal((10, 10), (swept.Requeued, swept.Unknown));
        var rows = await DeliverySeed.DeliveriesAsync(app, runId);
        Assert.All(rows.Where(r => r.Channel == "sms"), r => Assert.Equal(DeliveryStatus.Unknown, r.Status));
        Assert.All(rows.Where(r => r.Channel == "email"), r => Assert.Equal(DeliveryStatus.Pending, r.Status));
        await DeliverySeed.AssertCountersMatchRowsAsync(app, runId);
        await app.DrainAsync();
        var run = await DeliverySeed.RunAsync(app, runId);
        Assert.Equal((RunStatus.Completed, 10, 10), (run.Status, run.Sent, run.Unknown));
        Assert.Equal(0, (await DeliverySeed.DeliveriesAsync(app, runId)).Where(r => r.Channel == "sms").Sum(r => app.Sends.Sends.GetValueOrDefault(r.Id)));
        await DeliverySeed.AssertCountersMatchRowsAsync(app, runId);
    }

    [PostgresFact]
    public async Task Sweep_ExpiredFirstPassRange_RowsInFlightFollowTheChannelsCrashPolicy()
    {
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ChannelAsync(app, ws.Id, ChannelNames.Email, crashPolicy: CrashPolicies.AtLeastOnce);
        await DeliverySeed.ChannelAsync(app, ws.Id, ChannelNames.Sms, crashPolicy: CrashPolicies.AtMostOnce);
        await DeliverySeed.ContactsAsync(app, ws.Id, Enumerable.Range(0, 10).Select(i => ((string?)$"r{i}@example.com", (string?)$"+1415666{i:0000}", (string?)"R")));
        var (_, runId) = await DeliverySeed.CampaignAsync(app, ws.Id, [ChannelNames.Email, ChannelNames.Sms], now: Now);
        await DeliverySeed.StartAsync(app, runId);
        // The engine claims the run's first pass as one range and its provider hangs: the node "dies" mid-send.
        app.Sends.HangAll = true;
        var hanging = app.Sends.HangingBatches;
        using var die = new CancellationTokenSource();
        var pass = app.Engine.RunOnceAsync(die.Token);
        var until = DateTime.UtcNow.AddSeconds(30);
        while (Volatile.Read(ref app.Sends.HangingBatches) == hanging)
        {
            Assert.True(DateTime.UtcNow < until, "the engine never reached the provider");
            await Task.Delay(20);
        }
        Assert.Equal(1, await app.WithDbAsync(db => db.Set<DeliveryLease>().CountAsync(l => l.RunId == runId)));
        await die.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pass);
        app.Sends.HangAll = false;
        var inFlight = await DeliverySeed.InFlightAsync(app, runId, app.Engine.Node);
        Assert.Equal(20, inFlight.Count);
        Assert.All(await DeliverySeed.DeliveriesAsync(app, runId), r => Assert.Equal((DeliveryStatus.Pending, true), (r.Status, r.FirstPass)));

        Assert.Equal(new SweepResult(0, 0, 0), await app.Engine.SweepAsync(default)); // lease still valid
        Assert.Equal(0, (await app.Engine.RunOnceAsync(default)).Claimed); // and nobody else may take the range
        app.Clock!.Advance(TimeSpan.FromSeconds(61));
        var swept = await app.Engine.SweepAsync(default);

        Assert.Equal((10, 10), (swept.Requeued, swept.Unknown));
        var rows = await DeliverySeed.DeliveriesAsync(app, runId);
        Assert.All(rows.Where(r => r.Channel == "sms"), r => Assert.Equal((DeliveryStatus.Unknown, "lease_expired"), (r.Status, r.Reason)));
        Assert.All(rows.Where(r => r.Channel == "email"), r => Assert.Equal((DeliveryStatus.Pending, false, 1), (r.Status, r.FirstPass, r.Attempts)));
        Assert.Equal(0, await app.WithDbAsync(db => db.Set<DeliveryLease>().CountAsync(l => l.RunId == runId)));
        await DeliverySeed.AssertCountersMatchRowsAsync(app, runId);
        await app.DrainAsync();
        var run = await DeliverySeed.RunAsync(app, runId);
        Assert.Equal((RunStatus.Completed, 10, 10), (run.Status, run.Sent, run.Unknown));
        Assert.All((await DeliverySeed.DeliveriesAsync(app, runId)).Where(r => r.Channel == "email"), r => Assert.Equal(2, r.Attempts));
        await DeliverySeed.AssertCountersMatchRowsAsync(app, runId);
    }

    [Fact]
    public async Task RunOnce_DailyLimitReached_WaitsForLocalMidnightAndSaysSo()
    {
        var start = AdvanceToNext(DayOfWeek.Wednesday);
        var ws = await app.CreateWorkspaceAsync("daily", s => { s.DailyLimits = new() { ["email"] = 3 }; s.Timezone = "Asia/Kolkata"; });
        await DeliverySeed.ManyAsync(app, ws.Id, 5);
        var (_, runId) = await DeliverySeed.CampaignAsync(app, ws.Id, now: Now);
        await DeliverySeed.StartAsync(app, runId);

        var r = await app.Engine.RunOnceAsync(default);

        Assert.Equal((3, 2), (r.Sent, r.Deferred));
        var run = await DeliverySeed.RunAsync(app, runId);
        Assert.Equal((RunStatus.Running, "paused: daily limit"), (run.Status, run.StatusReason));
        // 10:00 UTC is 15:30 in Kolkata; the next local midnight is 18:30 UTC.
        var waiting = (await DeliverySeed.DeliveriesAsync(app, runId)).Where(d => d.Status == DeliveryStatus.Pending).ToList();
        Assert.All(waiting, d => Assert.Equal(start.Date.AddHours(18.5), d.NextAttemptAt));
        Assert.All(waiting, d => Assert.Equal(0, d.Attempts));
        Assert.Equal(0, (await app.Engine.RunOnceAsync(default)).Claimed);

        app.Clock!.Advance(TimeSpan.FromHours(8.6));
        Assert.Equal(2, (await app.Engine.RunOnceAsync(default)).Sent);
        run = await DeliverySeed.RunAsync(app, runId);
        Assert.Equal(RunStatus.Completed, run.Status);
        Assert.Null(run.StatusReason);
        await DeliverySeed.AssertCountersMatchRowsAsync(app, runId);
    }

    [Fact]
    public async Task RunOnce_OutsideSendWindow_DefersToNextOpening()
    {
        var start = AdvanceToNext(DayOfWeek.Wednesday);
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ContactsAsync(app, ws.Id, [("berlin@example.com", null, "B"), ("tokyo@example.com", null, "T")],
            c => c.Timezone = c.Email!.StartsWith("berlin") ? "Europe/Berlin" : "Asia/Tokyo");
        // Weekdays 09:00-18:00 in each recipient's zone. Now: Wed 10:00 UTC = 11:00 Berlin (open), 19:00 Tokyo (closed).
        var window = """{"days":["mon","tue","wed","thu","fri"],"start":"09:00","end":"18:00","timezone":"recipient"}""";
        var (_, runId) = await DeliverySeed.CampaignAsync(app, ws.Id, sendWindow: window, now: Now);
        await DeliverySeed.StartAsync(app, runId);

        var r = await app.Engine.RunOnceAsync(default);

        Assert.Equal((1, 1), (r.Sent, r.Deferred));
        var tokyo = (await DeliverySeed.DeliveriesAsync(app, runId)).Single(d => d.Address.StartsWith("tokyo"));
        Assert.Equal(DeliveryStatus.Pending, tokyo.Status);
        Assert.Equal(start.Date.AddDays(1), tokyo.NextAttemptAt); // Thu 09:00 Tokyo = 00:00 UTC
        app.Clock!.Advance(TimeSpan.FromHours(14));
        Assert.Equal(1, (await app.Engine.RunOnceAsync(default)).Sent);
        Assert.Equal(RunStatus.Completed, (await DeliverySeed.RunAsync(app, runId)).Status);
    }

    [Fact]
    public async Task Sweep_CancelledRun_RemainingDeliveriesSkippedAsCancelled()
    {
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ManyAsync(app, ws.Id, 700);
        var (_, runId) = await DeliverySeed.CampaignAsync(app, ws.Id, now: Now);
        await DeliverySeed.StartAsync(app, runId);
        await app.Engine.RunOnceAsync(default);
        await app.WithDbAsync(db => db.Set<CampaignRun>().Where(x => x.Id == runId).ExecuteUpdateAsync(u => u.SetProperty(x => x.Status, RunStatus.Cancelled)));

        Assert.Equal(0, (await app.Engine.RunOnceAsync(default)).Claimed);
        var swept = await app.Engine.SweepAsync(default);

        Assert.Equal(200, swept.Cancelled);
        var rows = await DeliverySeed.DeliveriesAsync(app, runId);
        Assert.Equal(200, rows.Count(d => d.Status == DeliveryStatus.Skipped && d.Reason == "cancelled"));
        var run = await DeliverySeed.RunAsync(app, runId);
        Assert.Equal((RunStatus.Cancelled, 0), (run.Status, run.Pending));
        Assert.NotNull(run.FinishedAt);
        await DeliverySeed.AssertCountersMatchRowsAsync(app, runId);
    }

    [Fact]
    public async Task RunOnce_RowRequeuedBehindEarlierBatches_IsStillSent()
    {
        // On PostgreSQL a node's claims start after the last row it claimed (the claim cursor); a row that becomes due
        // again behind it must still be found: the run may not stall with a pending row.
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ManyAsync(app, ws.Id, 1000);
        var (_, runId) = await DeliverySeed.CampaignAsync(app, ws.Id, now: Now);
        await DeliverySeed.StartAsync(app, runId);
        Assert.Equal(500, (await app.Engine.RunOnceAsync(default)).Sent);
        var first = (await DeliverySeed.DeliveriesAsync(app, runId)).First(d => d.Status == DeliveryStatus.Sent);
        // Put the first row back as it was before its send (same due time, before every row claimed since).
        await app.WithDbAsync(async db =>
        {
            await db.Set<DeliveryRow>().Where(d => d.Id == first.Id).ExecuteUpdateAsync(u => u.SetProperty(d => d.Status, DeliveryStatus.Pending)
                .SetProperty(d => d.SentAt, (DateTime?)null).SetProperty(d => d.FinishedAt, (DateTime?)null));
            return await db.Set<CampaignRun>().Where(r => r.Id == runId).ExecuteUpdateAsync(u => u.SetProperty(r => r.Pending, r => r.Pending + 1).SetProperty(r => r.Sent, r => r.Sent - 1));
        });

        var passes = await app.DrainAsync();

        Assert.Equal(501, passes.Sum(p => p.Sent));
        Assert.Equal(2, await app.WithDbAsync(db => db.Set<OutboxMessage>().CountAsync(o => o.DeliveryId == first.Id)));
        var run = await DeliverySeed.RunAsync(app, runId);
        Assert.Equal((RunStatus.Completed, 1000), (run.Status, run.Sent));
        await DeliverySeed.AssertCountersMatchRowsAsync(app, runId);
    }

    [Fact]
    public async Task Progress_PublishedPerBatch()
    {
        var progress = app.Services.GetRequiredService<IDeliveryProgress>();
        while (progress.Reader.TryRead(out _)) { }
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ManyAsync(app, ws.Id, 600);
        var (_, runId) = await DeliverySeed.CampaignAsync(app, ws.Id, now: Now);
        await DeliverySeed.StartAsync(app, runId);
        await app.DrainAsync();
        var events = new List<RunProgress>();
        while (progress.Reader.TryRead(out var e)) if (e.RunId == runId) events.Add(e);
        Assert.Contains(events, e => e.Sent == 500 && e.Pending == 100);
        Assert.Equal((RunStatus.Completed, 600), (events[^1].Status, events[^1].Sent));
    }
}
