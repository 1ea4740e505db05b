using Herald.Channels;
using Herald.Delivery;
using Herald.Storage;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Herald.Tests.Delivery;

public sealed class RunStarterTests(DeliveryApp app) : IClassFixture<DeliveryApp>
{
    [Fact]
    public async Task Start_MixedAudience_SkipsWithReasonsAndCountsEveryRecipient()
    {
        var ws = await app.CreateWorkspaceAsync("mat", s => s.FrequencyCap = new Herald.Workspaces.FrequencyCapDto(1, 7));
        var ids = await DeliverySeed.ContactsAsync(app, ws.Id,
        [
            ("ok@example.com", null, "Ok"), (null, "+14155550100", "NoEmail"), ("unsub@example.com", null, "Unsub"),
            ("supp@example.com", null, "Supp"), ("capped@example.com", null, "Capped"),
        ], c => { if (c.Email == "unsub@example.com") c.EmailConsent = "unsubscribed"; });
        var deleted = (await DeliverySeed.ContactsAsync(app, ws.Id, [("gone@example.com", null, "Gone")]))[0];
        await app.WithDbAsync(async db =>
        {
            db.Set<Suppression>().Add(new Suppression { WorkspaceId = ws.Id, Channel = "email", Address = "supp@example.com", Reason = "bounce", CreatedAt = DateTime.UtcNow });
            // An earlier campaign already sent one message to "capped" this week.
            db.Set<DeliveryRow>().Add(new DeliveryRow { WorkspaceId = ws.Id, ContactId = ids[4], Channel = "email", Address = "capped@example.com",
                Status = DeliveryStatus.Sent, SentAt = DateTime.UtcNow.AddDays(-1), NextAttemptAt = DateTime.UtcNow, CreatedAt = DateTime.UtcNow });
            await db.Set<Herald.Contacts.Contact>().Where(c => c.Id == deleted).ExecuteUpdateAsync(u => u.SetProperty(c => c.DeletedAt, DateTime.UtcNow));
            await db.SaveChangesAsync();
        });
        var (_, runId) = await DeliverySeed.CampaignAsync(app, ws.Id);

        await DeliverySeed.StartAsync(app, runId);

        var rows = await DeliverySeed.DeliveriesAsync(app, runId);
        string? Reason(long id) => rows.Single(r => r.ContactId == id).Reason;
        Assert.Equal(5, rows.Count); // the deleted contact is not in the audience
        Assert.Equal(DeliveryStatus.Pending, rows.Single(r => r.ContactId == ids[0]).Status);
        Assert.Equal("no_address", Reason(ids[1]));
        Assert.Equal("unsubscribed", Reason(ids[2]));
        Assert.Equal("suppressed", Reason(ids[3]));
        Assert.Equal("capped", Reason(ids[4]));
        var run = await DeliverySeed.RunAsync(app, runId);
        Assert.Equal(Herald.Campaigns.RunStatus.Running, run.Status);
        Assert.Equal((5, 1, 4), (run.Total, run.Pending, run.Skipped));
        await DeliverySeed.AssertCountersMatchRowsAsync(app, runId);
    }

    [PostgresFact]
    public async Task Start_ByTwoNodesAtOnce_OneRowPerRecipientAndCountersFromTheRows()
    {
        // A node whose start lease passed while it was still materializing, and the node that claimed the run after it.
        // PostgreSQL only: on SQLite one process owns all work, and its single writer refuses the second transaction.
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ManyAsync(app, ws.Id, 2000);
        var (_, runId) = await DeliverySeed.CampaignAsync(app, ws.Id);
        await app.WithDbAsync(db => db.Set<Herald.Campaigns.CampaignRun>().Where(r => r.Id == runId)
            .ExecuteUpdateAsync(u => u.SetProperty(r => r.Status, Herald.Campaigns.RunStatus.Starting)));

        await Task.WhenAll(DeliverySeed.StartAsync(app, runId), DeliverySeed.StartAsync(app, runId));

        Assert.Equal(2000, (await DeliverySeed.DeliveriesAsync(app, runId)).Count);
        var run = await DeliverySeed.RunAsync(app, runId);
        Assert.Equal((Herald.Campaigns.RunStatus.Running, 2000, 2000), (run.Status, run.Total, run.Pending));
        await DeliverySeed.AssertCountersMatchRowsAsync(app, runId);
    }

    [Fact]
    public async Task Start_Twice_IsANoOp()
    {
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ManyAsync(app, ws.Id, 50);
        var (_, runId) = await DeliverySeed.CampaignAsync(app, ws.Id);
        await DeliverySeed.StartAsync(app, runId);
        // Even if the run were handed over again in a state that allows a start, the unique key keeps one row per recipient.
        await app.WithDbAsync(db => db.Set<Herald.Campaigns.CampaignRun>().Where(r => r.Id == runId)
            .ExecuteUpdateAsync(u => u.SetProperty(r => r.Status, Herald.Campaigns.RunStatus.Starting)));
        await DeliverySeed.StartAsync(app, runId);
        await DeliverySeed.StartAsync(app, runId);
        Assert.Equal(50, (await DeliverySeed.DeliveriesAsync(app, runId)).Count);
        var run = await DeliverySeed.RunAsync(app, runId);
        Assert.Equal((50, 50), (run.Total, run.Pending));
    }

    [Fact]
    public async Task Start_Fallback_PicksFirstChannelTheContactCanReceive()
    {
        var ws = await app.CreateWorkspaceAsync();
        var ids = await DeliverySeed.ContactsAsync(app, ws.Id,
            [("both@example.com", "+14155550101", "Both"), ("mailonly@example.com", null, "Mail"), ("smsoff@example.com", "+14155550102", "SmsOff"), (null, null, "Nothing")],
            c => { if (c.FirstName == "SmsOff") c.SmsConsent = "unsubscribed"; });
        var (_, runId) = await DeliverySeed.CampaignAsync(app, ws.Id, [ChannelNames.Sms, ChannelNames.Email], mode: "fallback");

        await DeliverySeed.StartAsync(app, runId);

        var rows = await DeliverySeed.DeliveriesAsync(app, runId);
        Assert.Equal(4, rows.Count);
        Assert.Equal(("sms", "+14155550101"), (rows.Single(r => r.ContactId == ids[0]).Channel, rows.Single(r => r.ContactId == ids[0]).Address));
        Assert.Equal(("email", "mailonly@example.com"), (rows.Single(r => r.ContactId == ids[1]).Channel, rows.Single(r => r.ContactId == ids[1]).Address));
        Assert.Equal("email", rows.Single(r => r.ContactId == ids[2]).Channel);
        Assert.Equal(("skipped", "no_address"), (rows.Single(r => r.ContactId == ids[3]).Status, rows.Single(r => r.ContactId == ids[3]).Reason));
    }

    [Fact]
    public async Task Start_AllChannels_OneDeliveryPerChannel()
    {
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ContactsAsync(app, ws.Id, [("a@example.com", "+14155550103", "A")]);
        var (_, runId) = await DeliverySeed.CampaignAsync(app, ws.Id, [ChannelNames.Email, ChannelNames.Sms, ChannelNames.Webhook]);
        await DeliverySeed.StartAsync(app, runId);
        var rows = await DeliverySeed.DeliveriesAsync(app, runId);
        Assert.Equal(["email", "sms", "webhook"], rows.Select(r => r.Channel).Order().ToArray());
        Assert.Equal("https://hooks.example.com/in", rows.Single(r => r.Channel == "webhook").Address);
    }

    [Fact]
    public async Task Start_Variants_AssignedByWeightAndStablePerContact()
    {
        var ws = await app.CreateWorkspaceAsync();
        var ids = await DeliverySeed.ManyAsync(app, ws.Id, 2000);
        var variants = """[{"name":"A","weight":80,"content":{}},{"name":"B","weight":20,"content":{"email":{"subject":"B!","text":"b"}}}]""";
        var (_, runId) = await DeliverySeed.CampaignAsync(app, ws.Id, variants: variants);
        await DeliverySeed.StartAsync(app, runId);
        var rows = await DeliverySeed.DeliveriesAsync(app, runId);
        var shareA = rows.Count(r => r.Variant == "A") / (double)rows.Count;
        Assert.InRange(shareA, 0.75, 0.85);
        foreach (var r in rows) Assert.Equal(RunStarter.VariantFor(r.ContactId, [("A", 80), ("B", 20)]), r.Variant);
    }
}
