using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Herald.Auth;
using Herald.Campaigns;
using Herald.Delivery;
using Herald.Storage;
using Herald.Tests.Infrastructure;
using Herald.Tracking;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Tracking;

/// <summary>
/// A Herald host on a fake clock with the real audience, renderer and sandbox provider: campaigns go through the API,
/// the delivery engine is drained by hand, and the messages are read back from the outbox.
/// </summary>
public sealed class TrackingApp : HeraldApp
{
    public static readonly DateTimeOffset Start = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
    public const string Browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";

    public TrackingApp() => UseFakeTime = Start;

    public async Task DrainAsync()
    {
        var engine = Services.GetRequiredService<DeliveryEngine>();
        for (var i = 0; i < 100 && (await engine.RunOnceAsync(default)).Claimed > 0; i++) { }
    }

    /// <summary>An anonymous client, as a mail reader's browser is (with a browser's user agent unless told otherwise).</summary>
    public HttpClient Reader(string? userAgent = Browser)
    {
        var c = ClientWithKey(null);
        if (userAgent is not null) c.DefaultRequestHeaders.TryAddWithoutValidation("User-Agent", userAgent);
        return c;
    }
}

public static class TrackingKit
{
    public const string Html = """<html><body><p>Hi {{ contact.firstName }}</p><a href="https://shop.example/sale?a=1&amp;b=2">Sale</a> <a href="https://shop.example/new">New</a> <a href="{{ unsubscribeUrl }}">Unsubscribe</a></body></html>""";

    /// <summary>Creates contacts, then a campaign to them through the API, approves (no approval needed) and sends it now (and drains the engine unless told not to); returns ids.</summary>
    public static async Task<(long CampaignId, long RunId, List<long> Contacts)> SendAsync(TrackingApp app, TestWorkspace ws, int contacts = 2,
        string html = Html, object? variants = null, object? abTest = null, object? tracking = null, string prefix = "reader", bool drain = true)
    {
        var ids = new List<long>();
        var code = (prefix.Length * 7919 + prefix[0]) % 100; // phones stay distinct between prefixes
        for (var i = 0; i < contacts; i++)
        {
            var c = await (await ws.Client().PostJsonAsync("/api/v1/contacts", new { email = $"{prefix}{i}@example.com", firstName = $"R{i}", phone = $"+91987{code:D2}{i:D5}" }))
                .ExpectAsync(HttpStatusCode.Created);
            ids.Add(long.Parse(c.GetProperty("id").GetString()!));
        }
        var body = new Dictionary<string, object?>
        {
            ["name"] = "Tracked " + prefix, ["channel"] = "email",
            ["content"] = new { email = new { subject = "Hello {{ contact.firstName }}", html } },
            ["audience"] = new { contactIds = ids }, ["schedule"] = new { type = "now" },
        };
        if (variants is not null) body["variants"] = variants;
        if (abTest is not null) body["abTest"] = abTest;
        if (tracking is not null) body["tracking"] = tracking;
        var campaign = await (await ws.Client().PostJsonAsync("/api/v1/campaigns", body)).ExpectAsync(HttpStatusCode.Created);
        var id = long.Parse(campaign.GetProperty("id").GetString()!);
        await (await ws.Client().PostAsync($"/api/v1/campaigns/{id}/submit", null)).ExpectAsync(HttpStatusCode.OK);
        var sent = await (await ws.Client().PostAsync($"/api/v1/campaigns/{id}/send", null)).ExpectAsync(HttpStatusCode.Accepted);
        var runId = long.Parse(sent.GetProperty("run").GetProperty("id").GetString()!);
        if (drain) await app.DrainAsync();
        return (id, runId, ids);
    }

    public sealed record Message(long DeliveryId, string Html, string Pixel, IReadOnlyList<string> Links, string Unsubscribe);

    /// <summary>The sandbox's copy of each message of the campaign, with the tracking URLs found in its HTML.</summary>
    public static async Task<List<Message>> OutboxAsync(HeraldApp app, long campaignId) =>
        (await app.WithDbAsync(db => db.Set<OutboxMessage>().AsNoTracking().Where(o => o.CampaignId == campaignId).OrderBy(o => o.DeliveryId).ToListAsync()))
        .Select(o => Parse(o.DeliveryId, o.Html!)).ToList();

    public static Message Parse(long deliveryId, string html) => new(deliveryId, html,
        Regex.Match(html, "src=\"([^\"]*/t/o/[^\"]+)\"").Groups[1].Value,
        Regex.Matches(html, "href=\"([^\"]*/t/c/[^\"]+)\"").Select(m => m.Groups[1].Value).ToList(),
        Regex.Match(html, "href=\"([^\"]*/u/[^\"]+)\"").Groups[1].Value);

    public static Task<CampaignRun> RunAsync(HeraldApp app, long runId) => app.WithDbAsync(db => db.Set<CampaignRun>().AsNoTracking().FirstAsync(r => r.Id == runId));

    public static Task<List<DeliveryEvent>> EventsAsync(HeraldApp app, long? runId = null) =>
        app.WithDbAsync(db => db.Set<DeliveryEvent>().AsNoTracking().Where(e => runId == null || e.RunId == runId).OrderBy(e => e.Id).ToListAsync());

    public static async Task<JsonElement> StatsAsync(TestWorkspace ws, long campaignId, long? runId = null) =>
        await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/campaigns/{campaignId}/stats" + (runId is null ? "" : $"?runId={runId}"))).ExpectAsync(HttpStatusCode.OK);

    public static int I(this JsonElement e, string name) => e.GetProperty(name).GetInt32();
}
