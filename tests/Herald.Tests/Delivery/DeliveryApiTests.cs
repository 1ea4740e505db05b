using System.Net;
using Herald.Auth;
using Herald.Campaigns;
using Herald.Delivery;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Herald.Tests.Delivery;

public sealed class DeliveryApiTests(DeliveryApp app) : IClassFixture<DeliveryApp>
{
    [Fact]
    public async Task Stats_AfterRun_CountersEqualRowsAndRatesFollow()
    {
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ChannelAsync(app, ws.Id);
        await DeliverySeed.ContactsAsync(app, ws.Id, [("a@example.com", null, "A"), ("b@example.com", null, "B"), ("permanent-c@example.com", null, "C"), (null, "+14155550199", "D")]);
        var (campaignId, runId) = await DeliverySeed.CampaignAsync(app, ws.Id);
        await DeliverySeed.StartAsync(app, runId);
        await app.DrainAsync();

        var stats = await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/campaigns/{campaignId}/stats")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal((4, 2, 1, 1, 0), (stats.GetProperty("totalRecipients").GetInt32(), stats.GetProperty("sent").GetInt32(),
            stats.GetProperty("failed").GetInt32(), stats.GetProperty("skipped").GetInt32(), stats.GetProperty("pending").GetInt32()));
        Assert.Equal("completed", stats.GetProperty("status").GetString());
        Assert.True(stats.GetProperty("durationSeconds").GetDouble() >= 0);
        Assert.Equal(3, stats.GetProperty("timeline").EnumerateArray().Sum(p => p.GetProperty("sent").GetInt32() + p.GetProperty("failed").GetInt32()));
        await DeliverySeed.AssertCountersMatchRowsAsync(app, runId);
        var one = await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/campaigns/{campaignId}/stats?runId={runId}")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(runId.ToString(), one.GetProperty("runId").GetString());
    }

    [Fact]
    public async Task Deliveries_FilterByStatus_AndCsvExport()
    {
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ChannelAsync(app, ws.Id);
        await DeliverySeed.ContactsAsync(app, ws.Id, [("a@example.com", null, "A"), ("permanent-b@example.com", null, "B"), ("=cmd@example.com", null, "C")]);
        var (campaignId, runId) = await DeliverySeed.CampaignAsync(app, ws.Id);
        await DeliverySeed.StartAsync(app, runId);
        await app.DrainAsync();

        var failed = await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/campaigns/{campaignId}/deliveries?status=failed")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(1, failed.GetProperty("total").GetInt32());
        var item = failed.GetProperty("items")[0];
        Assert.Equal(("permanent-b@example.com", "invalid_address", "no such mailbox"),
            (item.GetProperty("address").GetString(), item.GetProperty("errorCode").GetString(), item.GetProperty("errorText").GetString()));
        await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/campaigns/{campaignId}/deliveries?status=bogus")).ExpectAsync(HttpStatusCode.BadRequest);

        var csv = await ws.Client(Role.Viewer).GetAsync($"/api/v1/campaigns/{campaignId}/deliveries?format=csv");
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Contains(lines, l => l.Contains(",'=cmd@example.com,"));
    }

    [Fact]
    public async Task RetryFailed_RequeuesAndTheRunFinishesAgain()
    {
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ChannelAsync(app, ws.Id);
        await DeliverySeed.ContactsAsync(app, ws.Id, [("ok@example.com", null, "A"), ("permanent-retry@example.com", null, "B")]);
        var (campaignId, runId) = await DeliverySeed.CampaignAsync(app, ws.Id);
        await DeliverySeed.StartAsync(app, runId);
        await app.DrainAsync();
        Assert.Equal(RunStatus.Completed, (await DeliverySeed.RunAsync(app, runId)).Status);

        var r = await (await ws.Client(Role.Editor).PostJsonAsync($"/api/v1/campaigns/{campaignId}/retry-failed", new { })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(1, r.GetProperty("requeued").GetInt32());
        var run = await DeliverySeed.RunAsync(app, runId);
        Assert.Equal((RunStatus.Running, 1, 0), (run.Status, run.Pending, run.Failed));

        app.Sends.PermanentHeals = true;
        try { await app.DrainAsync(); } finally { app.Sends.PermanentHeals = false; }
        run = await DeliverySeed.RunAsync(app, runId);
        Assert.Equal((RunStatus.Completed, 2, 0), (run.Status, run.Sent, run.Failed));
        await DeliverySeed.AssertCountersMatchRowsAsync(app, runId);
        Assert.True(await app.WithDbAsync(db => db.AuditLog.AnyAsync(a => a.WorkspaceId == ws.Id && a.Action == "retry_failed")));
    }

    [Fact]
    public async Task TestSend_GoesThroughProviderMarkedTestAndIsNotCounted()
    {
        var ws = await app.CreateWorkspaceAsync();
        var ids = await DeliverySeed.ContactsAsync(app, ws.Id, [("asha@example.com", null, "Asha")]);
        var (campaignId, runId) = await DeliverySeed.CampaignAsync(app, ws.Id);

        var body = await (await ws.Client(Role.Editor).PostJsonAsync($"/api/v1/campaigns/{campaignId}/test-send",
            new { contactIds = new[] { ids[0].ToString() }, addresses = new[] { "qa@example.com" } })).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(new[] { "sent", "sent" }, body.EnumerateArray().Select(x => x.GetProperty("status").GetString()!).ToArray());
        var outbox = await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/outbox?campaignId={campaignId}")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(2, outbox.GetProperty("total").GetInt32());
        Assert.All(outbox.GetProperty("items").EnumerateArray(), m => Assert.True(m.GetProperty("test").GetBoolean()));
        Assert.Contains(outbox.GetProperty("items").EnumerateArray(), m => m.GetProperty("subject").GetString() == "Hi Asha");
        var run = await DeliverySeed.RunAsync(app, runId);
        Assert.Equal((0, 0), (run.Total, run.Sent));
        var stats = await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/campaigns/{campaignId}/stats")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(0, stats.GetProperty("sent").GetInt32());
    }

    [Fact]
    public async Task TestSend_WithoutRecipients_Answers400()
    {
        var ws = await app.CreateWorkspaceAsync();
        var (campaignId, _) = await DeliverySeed.CampaignAsync(app, ws.Id);
        var body = await (await ws.Client(Role.Editor).PostJsonAsync($"/api/v1/campaigns/{campaignId}/test-send", new { })).ExpectAsync(HttpStatusCode.BadRequest);
        Assert.True(body.GetProperty("errors").TryGetProperty("contactIds", out _));
    }

    [Fact]
    public async Task Analytics_ListsCampaignsWithRunTotals()
    {
        var ws = await app.CreateWorkspaceAsync();
        await DeliverySeed.ManyAsync(app, ws.Id, 7);
        var (campaignId, runId) = await DeliverySeed.CampaignAsync(app, ws.Id);
        await DeliverySeed.StartAsync(app, runId);
        await app.DrainAsync();
        var page = await (await ws.Client(Role.Viewer).GetAsync("/api/v1/analytics")).ExpectAsync(HttpStatusCode.OK);
        var item = page.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("campaignId").GetString() == campaignId.ToString());
        Assert.Equal((7, 7), (item.GetProperty("totalRecipients").GetInt32(), item.GetProperty("sent").GetInt32()));
    }
}
