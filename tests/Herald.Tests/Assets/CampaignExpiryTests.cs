using System.Net;
using Herald.Auth;
using Herald.Campaigns;
using Herald.Delivery;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Assets;

/// <summary>endAt: on a fake clock, a campaign past its endAt completes and its unsent deliveries end skipped: expired.</summary>
public sealed class CampaignExpiryTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);
    private readonly HeraldApp _app = new() { UseFakeTime = Start };

    public Task InitializeAsync() => _app.InitializeAsync();
    public Task DisposeAsync() => _app.DisposeAsync();

    private async Task<string> SendAsync(TestWorkspace ws, string name, string? endAt)
    {
        var editor = ws.Client(Role.Editor);
        var c = await (await editor.PostJsonAsync("/api/v1/campaigns", new
        {
            name, channel = "email", content = new { email = new { subject = "Hi", text = "Sale ends soon" } },
            audience = new { all = true }, schedule = new { type = "now" }, endAt,
        })).ExpectAsync(HttpStatusCode.Created);
        var id = c.GetProperty("id").GetString()!;
        await (await editor.PostAsync($"/api/v1/campaigns/{id}/submit", null)).ExpectAsync(HttpStatusCode.OK);
        await (await editor.PostAsync($"/api/v1/campaigns/{id}/send", null)).ExpectAsync(HttpStatusCode.Accepted);
        return id;
    }

    [Fact]
    public async Task RunOnce_AfterEndAt_CompletesTheCampaignAndSkipsUnsentDeliveriesAsExpired()
    {
        var ws = await _app.CreateWorkspaceAsync();
        var contacts = Enumerable.Range(0, 5).Select(i => new { email = $"buyer{i}@example.com", consent = new Dictionary<string, string> { ["email"] = "subscribed" } }).ToArray();
        await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/contacts/bulk", new { contacts })).ExpectAsync(HttpStatusCode.OK);
        // No worker runs in this host: the deliveries stay pending, as in a slow or rate-limited send.
        var expiring = await SendAsync(ws, "Flash sale", Start.UtcDateTime.AddHours(2).ToString("yyyy-MM-ddTHH:mm:ss"));
        var open = await SendAsync(ws, "Evergreen", null);
        var expiry = _app.Services.GetRequiredService<CampaignExpiry>();

        var early = await expiry.RunOnceAsync();
        Assert.Equal(0, early.Campaigns);

        _app.Clock!.Advance(TimeSpan.FromHours(2));
        var result = await expiry.RunOnceAsync();

        Assert.Equal(1, result.Campaigns);
        Assert.Equal(5, result.DeliveriesSkipped);
        var campaign = await (await ws.Client().GetAsync($"/api/v1/campaigns/{expiring}")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("completed", campaign.GetProperty("status").GetString());
        Assert.Equal("expired: endAt reached", campaign.GetProperty("statusReason").GetString());
        var (deliveries, run) = await _app.WithDbAsync(async db =>
        {
            var cid = long.Parse(expiring);
            return (await db.Set<DeliveryRow>().AsNoTracking().Where(d => d.CampaignId == cid).ToListAsync(),
                await db.Set<CampaignRun>().AsNoTracking().SingleAsync(r => r.CampaignId == cid));
        });
        Assert.Equal(5, deliveries.Count);
        Assert.All(deliveries, d => Assert.Equal((DeliveryStatus.Skipped, "expired"), (d.Status, d.Reason)));
        Assert.Equal((RunStatus.Completed, 0, 5), (run.Status, run.Pending, run.Skipped));

        // The campaign without endAt is untouched, and a second pass finds nothing.
        var other = await (await ws.Client().GetAsync($"/api/v1/campaigns/{open}")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("running", other.GetProperty("status").GetString());
        Assert.Equal(0, (await expiry.RunOnceAsync()).Campaigns);
        var stillPending = await _app.WithDbAsync(db => db.Set<DeliveryRow>().CountAsync(d => d.CampaignId == long.Parse(open) && d.Status == DeliveryStatus.Pending));
        Assert.Equal(5, stillPending);
    }

    [Fact]
    public async Task RunOnce_ApprovedCampaignWhoseRunIsStillAhead_CompletesAndCancelsTheRun()
    {
        var ws = await _app.CreateWorkspaceAsync();
        var editor = ws.Client(Role.Editor);
        var c = await (await editor.PostJsonAsync("/api/v1/campaigns", new
        {
            name = "Daily digest", channel = "email", content = new { email = new { subject = "Digest", text = "News" } }, audience = new { all = true },
            schedule = new { type = "recurring", frequency = "daily", interval = 1, startAt = "2026-11-26T08:00:00", timezone = "UTC" },
            endAt = "2026-11-26T12:00:00",
        })).ExpectAsync(HttpStatusCode.Created);
        var id = c.GetProperty("id").GetString();
        await (await editor.PostAsync($"/api/v1/campaigns/{id}/submit", null)).ExpectAsync(HttpStatusCode.OK);

        _app.Clock!.Advance(TimeSpan.FromDays(2));
        await _app.Services.GetRequiredService<CampaignExpiry>().RunOnceAsync();

        var after = await (await editor.GetAsync($"/api/v1/campaigns/{id}")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("completed", after.GetProperty("status").GetString());
        var runs = await (await editor.GetAsync($"/api/v1/campaigns/{id}/runs")).ExpectAsync(HttpStatusCode.OK);
        Assert.All(runs.GetProperty("items").EnumerateArray(), r => Assert.Equal("cancelled", r.GetProperty("status").GetString()));
    }
}
