using Herald.Campaigns;
using Herald.Channels;
using Herald.Delivery;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Delivery;

/// <summary>A delivery host that materializes runs 40 contacts per transaction (the first chunk 10).</summary>
public sealed class ChunkedDeliveryApp : DeliveryApp
{
    public override async Task InitializeAsync()
    {
        Settings["Herald:Delivery:MaterializeChunk"] = "40";
        await base.InitializeAsync();
    }
}

/// <summary>
/// Run start on PostgreSQL writes the audience in chunks, each its own transaction, and the workers send the committed
/// chunks while the rest is still being written (SQLite writes a run in one transaction).
/// </summary>
public sealed class ChunkedStartTests(ChunkedDeliveryApp app) : IClassFixture<ChunkedDeliveryApp>
{
    [PostgresFact]
    public async Task Start_InChunks_EveryRecipientOnceCountersMatchRunCompletes()
    {
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ChannelAsync(app, ws.Id);
        var ids = await DeliverySeed.ManyAsync(app, ws.Id, 300);
        // Skipped rows are chunked too: no address for some, unsubscribed for others.
        await app.WithDbAsync(db => db.Set<Herald.Contacts.Contact>().Where(c => c.Id == ids[7] || c.Id == ids[123]).ExecuteUpdateAsync(u => u.SetProperty(c => c.Email, (string?)null)));
        await app.WithDbAsync(db => db.Set<Herald.Contacts.Contact>().Where(c => c.Id == ids[250]).ExecuteUpdateAsync(u => u.SetProperty(c => c.EmailConsent, "unsubscribed")));
        var (_, runId) = await DeliverySeed.CampaignAsync(app, ws.Id);

        await DeliverySeed.StartAsync(app, runId);

        var run = await DeliverySeed.RunAsync(app, runId);
        Assert.Equal((RunStatus.Running, false, 300, 297, 3), (run.Status, run.Materializing, run.Total, run.Pending, run.Skipped));
        Assert.Equal(ids.Max(), run.MaterializedThrough);
        await app.DrainAsync();
        run = await DeliverySeed.RunAsync(app, runId);
        Assert.Equal((RunStatus.Completed, 297), (run.Status, run.Sent));
        var rows = await DeliverySeed.DeliveriesAsync(app, runId);
        Assert.Equal(ids.Order(), rows.Select(r => r.ContactId).Order());
        Assert.All(rows.Where(r => r.Status == DeliveryStatus.Sent), r => Assert.Equal(1, app.Sends.Sends[r.Id]));
        await DeliverySeed.AssertCountersMatchRowsAsync(app, runId);
    }

    [PostgresFact]
    public async Task Start_DiedAfterTwoChunks_SendsWhatItWroteCannotCompleteAndIsResumedWhereItStopped()
    {
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ChannelAsync(app, ws.Id);
        var ids = await DeliverySeed.ManyAsync(app, ws.Id, 200);
        var (_, runId) = await DeliverySeed.CampaignAsync(app, ws.Id);
        var starter = (RunStarter)app.Services.CreateScope().ServiceProvider.GetRequiredService<IRunStarter>();

        // The starting node writes two chunks (10 + 40 contacts) and dies.
        await starter.StartAsync(runId, maxChunks: 2, default);

        var run = await DeliverySeed.RunAsync(app, runId);
        Assert.Equal((RunStatus.Starting, true, 50, 50), (run.Status, run.Materializing, run.Total, run.Pending));
        // The workers send what is written; the run reaches zero pending but is not complete: its audience is not all written.
        await app.DrainAsync();
        run = await DeliverySeed.RunAsync(app, runId);
        Assert.Equal((RunStatus.Starting, 50, 0, null), (run.Status, run.Sent, run.Pending, run.FinishedAt));
        await DeliverySeed.AssertCountersMatchRowsAsync(app, runId);

        // Another node claims the run again and starts it: it goes on from the contact the first one reached.
        await DeliverySeed.StartAsync(app, runId);
        await app.DrainAsync();

        run = await DeliverySeed.RunAsync(app, runId);
        Assert.Equal((RunStatus.Completed, false, 200, 200), (run.Status, run.Materializing, run.Total, run.Sent));
        var rows = await DeliverySeed.DeliveriesAsync(app, runId);
        Assert.Equal(ids.Order(), rows.Select(r => r.ContactId).Order());
        Assert.All(rows, r => Assert.Equal(1, app.Sends.Sends[r.Id]));
        await DeliverySeed.AssertCountersMatchRowsAsync(app, runId);
    }

    [PostgresFact]
    public async Task PausedAndResumedWhileItsStartHadDied_GoesBackToStartingAndIsWrittenWhole()
    {
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ChannelAsync(app, ws.Id);
        var ids = await DeliverySeed.ManyAsync(app, ws.Id, 120);
        var (campaignId, runId) = await DeliverySeed.CampaignAsync(app, ws.Id);
        var starter = (RunStarter)app.Services.CreateScope().ServiceProvider.GetRequiredService<IRunStarter>();
        await starter.StartAsync(runId, maxChunks: 1, default);
        using var editor = ws.Client(Herald.Auth.Role.Editor);

        (await editor.PostAsync($"/api/v1/campaigns/{campaignId}/pause", null)).EnsureSuccessStatusCode();
        Assert.Equal((RunStatus.Paused, true), ((await DeliverySeed.RunAsync(app, runId)).Status, (await DeliverySeed.RunAsync(app, runId)).Materializing));
        Assert.Empty(await app.DrainAsync()); // paused: nothing is sent
        (await editor.PostAsync($"/api/v1/campaigns/{campaignId}/resume", null)).EnsureSuccessStatusCode();

        // Not running with a tenth of its audience: starting again, so a scheduler claims it and its start goes on.
        Assert.Equal(RunStatus.Starting, (await DeliverySeed.RunAsync(app, runId)).Status);
        await DeliverySeed.StartAsync(app, runId);
        await app.DrainAsync();
        var run = await DeliverySeed.RunAsync(app, runId);
        Assert.Equal((RunStatus.Completed, 120, 120), (run.Status, run.Total, run.Sent));
        Assert.Equal(ids.Order(), (await DeliverySeed.DeliveriesAsync(app, runId)).Select(r => r.ContactId).Order());
        await DeliverySeed.AssertCountersMatchRowsAsync(app, runId);
    }

    [PostgresFact]
    public async Task Start_InChunks_WithAnAbTest_AssignsVariantsHoldsTheRestBackAndCountsEachVariant()
    {
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ManyAsync(app, ws.Id, 400);
        var (campaignId, runId) = await DeliverySeed.CampaignAsync(app, ws.Id, variants: """[{"name":"A","weight":1},{"name":"B","weight":1}]""");
        await app.WithDbAsync(db => db.Set<Campaign>().Where(c => c.Id == campaignId)
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.AbTest, """{"testPercent":20,"metric":"open","waitFor":"PT1H"}""")));

        await DeliverySeed.StartAsync(app, runId);

        var rows = await DeliverySeed.DeliveriesAsync(app, runId);
        var held = rows.Where(r => r.Reason == "ab_test").ToList();
        var tested = rows.Where(r => r.Variant is not null).ToList();
        Assert.Equal(400, held.Count + tested.Count);
        Assert.All(held, r => Assert.Equal((DeliveryStatus.Pending, false, null), (r.Status, r.FirstPass, r.Variant)));
        Assert.All(tested, r => Assert.True(r.FirstPass));
        var stats = await app.WithDbAsync(db => db.Set<Herald.Tracking.RunVariantStat>().Where(s => s.RunId == runId).ToDictionaryAsync(s => s.Variant, s => s.Total));
        Assert.Equal(tested.GroupBy(r => r.Variant!).ToDictionary(g => g.Key, g => g.Count()), stats);
        var run = await DeliverySeed.RunAsync(app, runId);
        Assert.NotNull(run.AbDecideAt);
        await app.DrainAsync();
        Assert.Equal(tested.Count, (await DeliverySeed.RunAsync(app, runId)).Sent);
        await DeliverySeed.AssertCountersMatchRowsAsync(app, runId);
    }
}
