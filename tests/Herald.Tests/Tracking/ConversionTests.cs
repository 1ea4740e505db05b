using System.Net;
using Herald.Auth;
using Herald.Tests.Infrastructure;
using Herald.Tracking;
using Microsoft.EntityFrameworkCore;

namespace Herald.Tests.Tracking;

/// <summary>Conversions through the API and order events credited to the last opened or clicked delivery within the attribution window.</summary>
public sealed class ConversionTests : IAsyncLifetime
{
    private readonly TrackingApp _app = new();

    public Task InitializeAsync() => _app.InitializeAsync();
    public Task DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public async Task ConversionsApi_ByDeliveryOrByContactAndCampaign_CountsDeliveriesOnceAndEveryValue()
    {
        var ws = await _app.CreateWorkspaceAsync();
        var (campaignId, runId, contacts) = await TrackingKit.SendAsync(_app, ws, contacts: 2);
        var m = await TrackingKit.OutboxAsync(_app, campaignId);
        var editor = ws.Client(Role.Editor);

        var first = await (await editor.PostJsonAsync("/api/v1/conversions", new { deliveryId = m[0].DeliveryId, value = 100, currency = "inr" })).ExpectAsync(HttpStatusCode.Created);
        Assert.True(first.GetProperty("firstForDelivery").GetBoolean());
        Assert.Equal("INR", first.GetProperty("currency").GetString());
        var again = await (await editor.PostJsonAsync("/api/v1/conversions", new { contactId = contacts[0].ToString(), campaignId = campaignId.ToString(), value = 50 }))
            .ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(m[0].DeliveryId.ToString(), again.GetProperty("deliveryId").GetString());
        Assert.False(again.GetProperty("firstForDelivery").GetBoolean());

        var run = await TrackingKit.RunAsync(_app, runId);
        Assert.Equal((1, 2, 150m), (run.Converted, run.Conversions, run.ConversionValue));
        var stats = await TrackingKit.StatsAsync(ws, campaignId);
        Assert.Equal(0.5, stats.GetProperty("conversionRate").GetDouble());

        var bad = await (await editor.PostJsonAsync("/api/v1/conversions", new { contactId = contacts[0], value = -1, currency = "RUPEES" })).ExpectAsync(HttpStatusCode.BadRequest);
        Assert.True(bad.GetProperty("errors").TryGetProperty("deliveryId", out _));
        Assert.True(bad.GetProperty("errors").TryGetProperty("value", out _));
        Assert.True(bad.GetProperty("errors").TryGetProperty("currency", out _));
        // Another workspace's delivery is not found and nothing moves.
        var other = await _app.CreateWorkspaceAsync("other");
        await (await other.Client().PostJsonAsync("/api/v1/conversions", new { deliveryId = m[1].DeliveryId, value = 999 })).ExpectAsync(HttpStatusCode.NotFound);
        Assert.Equal(2, (await TrackingKit.RunAsync(_app, runId)).Conversions);
    }

    [Fact]
    public async Task OrderEvent_InsideTheWindowAfterAHumanTouch_IsCreditedToTheLastTouchedDelivery()
    {
        var ws = await _app.CreateWorkspaceAsync();
        var (c1, run1, contacts) = await TrackingKit.SendAsync(_app, ws, contacts: 1, prefix: "buyer");
        var m1 = (await TrackingKit.OutboxAsync(_app, c1))[0];
        _app.Clock!.Advance(TimeSpan.FromHours(1));
        await _app.Reader().GetAsync(m1.Pixel); // opened campaign 1 at T
        var touched = _app.Clock.GetUtcNow();

        // A second campaign to the same contact, opened only by a machine: it is not a touch.
        var campaign2 = await (await ws.Client().PostJsonAsync("/api/v1/campaigns", new
        {
            name = "Second", channel = "email", content = new { email = new { subject = "2", html = "<p>two</p>" } },
            audience = new { contactIds = contacts }, schedule = new { type = "now" },
        })).ExpectAsync(HttpStatusCode.Created);
        var c2 = long.Parse(campaign2.GetProperty("id").GetString()!);
        await ws.Client().PostAsync($"/api/v1/campaigns/{c2}/submit", null);
        var run2 = long.Parse((await (await ws.Client().PostAsync($"/api/v1/campaigns/{c2}/send", null)).ExpectAsync(HttpStatusCode.Accepted))
            .GetProperty("run").GetProperty("id").GetString()!);
        await _app.DrainAsync();
        var m2 = (await TrackingKit.OutboxAsync(_app, c2))[0];
        _app.Clock.Advance(TimeSpan.FromHours(1));
        await _app.Reader("Mozilla/5.0").GetAsync(m2.Pixel);

        async Task Order(DateTimeOffset at, decimal value) =>
            await (await ws.Client(Role.Editor).PostJsonAsync($"/api/v1/contacts/{contacts[0]}/events", new { type = "order", value, currency = "INR", occurredAt = at }))
                .ExpectAsync(HttpStatusCode.Created);

        await Order(touched + TimeSpan.FromDays(7) - TimeSpan.FromSeconds(1), 700); // last second of the window
        await Order(touched + TimeSpan.FromDays(7) + TimeSpan.FromSeconds(1), 900); // just outside
        await Order(touched - TimeSpan.FromSeconds(1), 100); // before the touch

        var r1 = await TrackingKit.RunAsync(_app, run1);
        var r2 = await TrackingKit.RunAsync(_app, run2);
        Assert.Equal((1, 1, 700m), (r1.Converted, r1.Conversions, r1.ConversionValue));
        Assert.Equal(0, r2.Conversions);
        var conversions = (await TrackingKit.EventsAsync(_app)).Where(e => e.Type == DeliveryEventTypes.Converted).ToList();
        Assert.Equal(m1.DeliveryId, Assert.Single(conversions).DeliveryId);
        Assert.StartsWith("order:", conversions[0].Detail);

        // A later human click on campaign 2 makes it the last touch.
        _app.Clock.Advance(TimeSpan.FromHours(1));
        await _app.Reader().GetAsync(m2.Pixel);
        await Order(_app.Clock.GetUtcNow() + TimeSpan.FromHours(1), 50);
        Assert.Equal((1, 50m), ((await TrackingKit.RunAsync(_app, run2)).Conversions, (await TrackingKit.RunAsync(_app, run2)).ConversionValue));
        Assert.Equal(1, (await TrackingKit.RunAsync(_app, run1)).Conversions);
    }

    [Fact]
    public async Task AttributionWindow_IsConfigurable()
    {
        var app = new TrackingApp { Settings = { ["Herald:Tracking:AttributionWindow"] = "1.00:00:00" } };
        await app.InitializeAsync();
        try
        {
            var ws = await app.CreateWorkspaceAsync();
            var (c, run, contacts) = await TrackingKit.SendAsync(app, ws, contacts: 1);
            app.Clock!.Advance(TimeSpan.FromMinutes(10));
            await app.Reader().GetAsync((await TrackingKit.OutboxAsync(app, c))[0].Links[0]);
            var at = app.Clock.GetUtcNow();
            foreach (var offset in new[] { TimeSpan.FromHours(25), TimeSpan.FromHours(23) })
                await (await ws.Client(Role.Editor).PostJsonAsync($"/api/v1/contacts/{contacts[0]}/events", new { type = "order", value = 10, occurredAt = at + offset }))
                    .ExpectAsync(HttpStatusCode.Created);
            Assert.Equal(1, (await TrackingKit.RunAsync(app, run)).Conversions);
        }
        finally
        {
            await app.DisposeAsync();
        }
    }
}
