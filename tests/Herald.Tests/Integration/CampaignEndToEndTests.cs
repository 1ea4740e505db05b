using System.Net;
using Herald.Auth;
using Herald.Delivery;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Herald.Tests.Integration;

/// <summary>
/// The whole path a user takes, through the real API and background services: contacts with orders,
/// a segment, a template, a campaign scheduled a few seconds ahead, approval by a second person, the
/// scheduler starting the run, workers rendering and sending to the sandbox outbox, and the stats.
/// </summary>
public sealed class CampaignEndToEndTests : IAsyncLifetime
{
    private readonly HeraldApp _app = new() { Roles = "web,scheduler,worker" };

    public Task InitializeAsync() => _app.InitializeAsync();
    public Task DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public async Task ScheduledCampaign_ToASegmentWithApproval_IsSentOnceToEachMemberAndCounted()
    {
        var ws = await _app.CreateWorkspaceAsync("e2e", s => s.ApprovalRequired = true);
        var editor = ws.Client(Role.Editor);
        var contacts = Enumerable.Range(0, 12).Select(i => new { email = $"buyer{i}@example.com", firstName = $"Buyer{i}", city = i % 2 == 0 ? "Mumbai" : "Pune" }).ToArray();
        var bulk = await (await editor.PostJsonAsync("/api/v1/contacts/bulk", new { contacts })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(12, bulk.GetProperty("created").GetInt32());
        // Four big spenders: over 5,000 each.
        var events = Enumerable.Range(0, 4).Select(i => new { email = $"buyer{i}@example.com", type = "order", value = 6000 + i }).ToArray();
        await (await editor.PostJsonAsync("/api/v1/events", new { events })).ExpectAsync(HttpStatusCode.OK);

        var segment = await (await editor.PostJsonAsync("/api/v1/segments", new { name = "VIP", filter = new { totalSpent = new { gte = 5000 } } })).ExpectAsync(HttpStatusCode.Created);
        var preview = await (await editor.PostJsonAsync("/api/v1/audience/preview", new { audience = new { segmentIds = new[] { long.Parse(segment.GetProperty("id").GetString()!) } } })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(4, preview.GetProperty("count").GetInt32());

        var template = await (await editor.PostJsonAsync("/api/v1/templates", new
        {
            name = "VIP sale", channel = "email",
            email = new { subject = "{{ contact.firstName | default: \"Friend\" }}, 70% off", html = "<p>Hi {{ name }}, the sale is on.</p>" },
        })).ExpectAsync(HttpStatusCode.Created);

        var at = DateTimeOffset.UtcNow.AddSeconds(3);
        var campaign = await (await editor.PostJsonAsync("/api/v1/campaigns", new
        {
            name = "VIP sale", channel = "email", templateId = long.Parse(template.GetProperty("id").GetString()!),
            audience = new { segmentIds = new[] { long.Parse(segment.GetProperty("id").GetString()!) } },
            schedule = new { type = "once", at = at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fff"), timezone = "UTC" },
        })).ExpectAsync(HttpStatusCode.Created);
        var id = campaign.GetProperty("id").GetString();

        await (await editor.PostAsync($"/api/v1/campaigns/{id}/submit", null)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.Forbidden, (await editor.PostAsync($"/api/v1/campaigns/{id}/approve", null)).StatusCode);
        var approved = await (await ws.Client(Role.Approver).PostAsync($"/api/v1/campaigns/{id}/approve", null)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("approved", approved.GetProperty("status").GetString());

        Assert.Equal("completed", await ChannelCampaignTests.WaitForStatusAsync(editor, id!, "completed"));

        var stats = await (await editor.GetAsync($"/api/v1/campaigns/{id}/stats")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(4, stats.GetProperty("totalRecipients").GetInt32());
        Assert.Equal(4, stats.GetProperty("sent").GetInt32());
        Assert.Equal(0, stats.GetProperty("pending").GetInt32());
        Assert.Equal(0, stats.GetProperty("failed").GetInt32());
        var started = stats.GetProperty("startedAt").GetDateTime();
        Assert.True(started >= at.UtcDateTime.AddMilliseconds(-1), $"started {started:O} before its time {at:O}");

        var outbox = await (await editor.GetAsync($"/api/v1/outbox?campaignId={id}")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(4, outbox.GetProperty("total").GetInt32());
        var subjects = outbox.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("subject").GetString()).OrderBy(s => s).ToList();
        Assert.Equal(["Buyer0, 70% off", "Buyer1, 70% off", "Buyer2, 70% off", "Buyer3, 70% off"], subjects);
        Assert.All(outbox.GetProperty("items").EnumerateArray(), m => Assert.Contains("the sale is on", m.GetProperty("html").GetString()));

        // Counters equal the delivery rows, and each member got exactly one message.
        var rows = await _app.WithDbAsync(db => db.Set<DeliveryRow>().Where(d => d.CampaignId == long.Parse(id!)).ToListAsync());
        Assert.Equal(4, rows.Count);
        Assert.All(rows, r => Assert.Equal(DeliveryStatus.Sent, r.Status));
        Assert.Equal(4, rows.Select(r => r.Address).Distinct().Count());

        // Submitting, approving and the run are in the audit log.
        var audit = await (await ws.Client().GetAsync($"/api/v1/audit?targetType=campaign&targetId={id}")).ExpectAsync(HttpStatusCode.OK);
        var actions = audit.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Contains(actions, a => a!.Contains("submit"));
        Assert.Contains(actions, a => a!.Contains("approve"));
    }
}

public sealed class CampaignRecipientsTests(HeraldApp app) : IClassFixture<HeraldApp>
{
    [Fact]
    public async Task Create_WithAdHocRecipients_UpsertsThemAsContactsAndStoresTheirIds()
    {
        var ws = await app.CreateWorkspaceAsync();
        var existing = await (await ws.Client().PostJsonAsync("/api/v1/contacts", new { email = "known@example.com" })).ExpectAsync(HttpStatusCode.Created);
        var campaign = await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/campaigns", new
        {
            name = "Ad hoc", channel = "email", content = new { email = new { subject = "Hi", text = "Hello" } },
            audience = new { recipients = new object[] { new { name = "Known Person", email = "KNOWN@example.com" }, new { name = "New Person", email = "new@example.com" } } },
            schedule = new { type = "now" },
        })).ExpectAsync(HttpStatusCode.Created);
        var contacts = await app.WithDbAsync(db => db.Contacts.Where(c => c.WorkspaceId == ws.Id).OrderBy(c => c.Id).ToListAsync());
        Assert.Equal(["known@example.com", "new@example.com"], contacts.Select(c => c.Email!).ToArray());
        Assert.Equal("New", contacts[1].FirstName);
        var ids = campaign.GetProperty("audience").GetProperty("contactIds").EnumerateArray().Select(e => e.GetInt64()).OrderBy(x => x).ToArray();
        Assert.Equal(contacts.Select(c => c.Id).ToArray(), ids);
        Assert.Equal(long.Parse(existing.GetProperty("id").GetString()!), ids[0]);

        var bad = await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/campaigns", new
        {
            name = "Bad", channel = "email", content = new { email = new { subject = "Hi", text = "Hello" } },
            audience = new { recipients = new object[] { new { name = "Nobody", email = "not-an-email" } } },
            schedule = new { type = "now" },
        })).ExpectAsync(HttpStatusCode.BadRequest);
        Assert.Contains(bad.GetProperty("errors").EnumerateObject(), e => e.Name.Contains("recipients[0]"));
        Assert.Equal(2, await app.WithDbAsync(db => db.Contacts.CountAsync(c => c.WorkspaceId == ws.Id)));
    }
}
