using System.Net;
using Herald.Auth;
using Herald.Contacts;
using Herald.Delivery;
using Herald.Tests.Infrastructure;
using Herald.Tracking;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Tracking;

/// <summary>Opens, clicks and unsubscribes through the public endpoints, on messages the engine rendered and the sandbox kept.</summary>
public sealed class TrackingFlowTests : IAsyncLifetime
{
    private readonly TrackingApp _app = new();

    public Task InitializeAsync() => _app.InitializeAsync();
    public Task DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public async Task Render_RewritesLinksOncePerContent_AndAddsPixelAndUnsubscribeUrl()
    {
        var ws = await _app.CreateWorkspaceAsync();
        var (campaignId, _, _) = await TrackingKit.SendAsync(_app, ws, contacts: 2);
        var messages = await TrackingKit.OutboxAsync(_app, campaignId);
        Assert.Equal(2, messages.Count);
        foreach (var m in messages)
        {
            Assert.StartsWith("http://herald.test/t/o/", m.Pixel);
            Assert.Equal(2, m.Links.Count);
            Assert.StartsWith("http://herald.test/u/", m.Unsubscribe);
            Assert.DoesNotContain("shop.example", m.Html);
            Assert.DoesNotContain('\u0001', m.Html);
            Assert.True(m.Pixel.Length < "http://herald.test/t/o/".Length + 32, m.Pixel);
        }
        // Tokens are per message: nothing shared between the two recipients.
        Assert.Empty(messages[0].Links.Intersect(messages[1].Links));
        Assert.NotEqual(messages[0].Pixel, messages[1].Pixel);
        // The two links are stored once for the campaign, not per message.
        var links = await _app.WithDbAsync(db => db.Set<TrackedLink>().Where(l => l.CampaignId == campaignId).OrderBy(l => l.Id).Select(l => l.Url).ToListAsync());
        Assert.Equal(["https://shop.example/sale?a=1&b=2", "https://shop.example/new"], links);
    }

    [Fact]
    public async Task Open_CountsFirstHumanOpenOnce_TotalsEvery_AndFlagsMachines()
    {
        var ws = await _app.CreateWorkspaceAsync();
        var (campaignId, runId, _) = await TrackingKit.SendAsync(_app, ws, contacts: 2);
        var m = (await TrackingKit.OutboxAsync(_app, campaignId))[0];

        // Right after the send: a prefetcher or scanner, not the reader.
        var early = await _app.Reader().GetAsync(m.Pixel);
        Assert.Equal(HttpStatusCode.OK, early.StatusCode);
        _app.Clock!.Advance(TimeSpan.FromMinutes(3));
        var r = await _app.Reader().GetAsync(m.Pixel);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("image/gif", r.Content.Headers.ContentType!.MediaType);
        Assert.Equal("GIF89a"u8.ToArray(), (await r.Content.ReadAsByteArrayAsync())[..6]);
        Assert.True(r.Headers.CacheControl!.NoStore && r.Headers.CacheControl.NoCache);
        Assert.Contains("no-cache", r.Headers.Pragma.ToString());
        await _app.Reader().GetAsync(m.Pixel);
        await _app.Reader("Mozilla/5.0").GetAsync(m.Pixel); // Apple Mail Privacy Protection's proxy
        await _app.Reader(null).GetAsync(m.Pixel);

        var run = await TrackingKit.RunAsync(_app, runId);
        Assert.Equal((1, 5, 3), (run.Opened, run.OpensTotal, run.MachineOpens));
        var events = await TrackingKit.EventsAsync(_app, runId);
        Assert.Equal(new[] { "after_send", "-", "-", "apple_mpp", "user_agent" }, events.Select(e => e.Machine ? e.Detail! : "-").ToArray());
        var delivery = await _app.WithDbAsync(db => db.Set<DeliveryRow>().FirstAsync(d => d.Id == m.DeliveryId));
        Assert.Equal(TrackingApp.Start.UtcDateTime.AddMinutes(3), delivery.OpenedAt);
        var stats = await TrackingKit.StatsAsync(ws, campaignId);
        Assert.Equal((1, 5, 3), (stats.I("opened"), stats.I("opensTotal"), stats.I("machineOpens")));
        Assert.Equal(0.5, stats.GetProperty("openRate").GetDouble());
    }

    [Fact]
    public async Task Click_RedirectsOnlyToTheStoredUrl_AndCountsUniqueAndTotalPerLink()
    {
        var ws = await _app.CreateWorkspaceAsync();
        var (campaignId, runId, _) = await TrackingKit.SendAsync(_app, ws, contacts: 2);
        var m = await TrackingKit.OutboxAsync(_app, campaignId);
        _app.Clock!.Advance(TimeSpan.FromMinutes(1));

        // The request cannot choose the target: query strings and paths added to the token are ignored or refused.
        var r = await _app.Reader().GetAsync(m[0].Links[0] + "?url=https://evil.example/&redirect=https://evil.example/");
        Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
        Assert.Equal("https://shop.example/sale?a=1&b=2", r.Headers.Location!.OriginalString);
        Assert.Equal("no-referrer", r.Headers.GetValues("Referrer-Policy").Single());
        Assert.Equal(HttpStatusCode.NotFound, (await _app.Reader().GetAsync(m[0].Links[0] + "/https://evil.example")).StatusCode);
        _app.Clock.Advance(TimeSpan.FromMinutes(1));
        await _app.Reader().GetAsync(m[0].Links[0]);
        _app.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("https://shop.example/new", (await _app.Reader().GetAsync(m[1].Links[1])).Headers.Location!.OriginalString);

        var run = await TrackingKit.RunAsync(_app, runId);
        Assert.Equal((2, 3, 0), (run.Clicked, run.ClicksTotal, run.MachineClicks));
        var stats = await TrackingKit.StatsAsync(ws, campaignId);
        var links = stats.GetProperty("links").EnumerateArray().ToDictionary(l => l.GetProperty("url").GetString()!, l => (l.I("clicks"), l.I("uniqueClicks")));
        Assert.Equal((2, 1), links["https://shop.example/sale?a=1&b=2"]);
        Assert.Equal((1, 1), links["https://shop.example/new"]);
        Assert.Equal(1.0, stats.GetProperty("clickRate").GetDouble());
    }

    [Fact]
    public async Task Click_EveryLinkWithinTwoSeconds_IsALinkScanner_AndItsEarlierClickIsTakenBack()
    {
        var ws = await _app.CreateWorkspaceAsync();
        var (campaignId, runId, _) = await TrackingKit.SendAsync(_app, ws, contacts: 1);
        var m = (await TrackingKit.OutboxAsync(_app, campaignId))[0];
        _app.Clock!.Advance(TimeSpan.FromMinutes(10));
        await _app.Reader().GetAsync(m.Links[0]);
        Assert.Equal(1, (await TrackingKit.RunAsync(_app, runId)).Clicked);
        _app.Clock.Advance(TimeSpan.FromSeconds(1));
        await _app.Reader().GetAsync(m.Links[1]);

        var run = await TrackingKit.RunAsync(_app, runId);
        Assert.Equal((0, 2, 2), (run.Clicked, run.ClicksTotal, run.MachineClicks));
        Assert.All(await TrackingKit.EventsAsync(_app, runId), e => Assert.Equal((true, "burst"), (e.Machine, e.Detail)));
        Assert.Null((await _app.WithDbAsync(db => db.Set<DeliveryRow>().FirstAsync(d => d.Id == m.DeliveryId))).ClickedAt);
        var stats = await TrackingKit.StatsAsync(ws, campaignId);
        Assert.Equal(0, stats.GetProperty("timeline").EnumerateArray().Sum(p => p.I("clicked")));
        Assert.All(stats.GetProperty("links").EnumerateArray(), l => Assert.Equal((1, 0), (l.I("clicks"), l.I("uniqueClicks"))));

        // The reader comes back later: a person's click counts again.
        _app.Clock.Advance(TimeSpan.FromMinutes(5));
        await _app.Reader().GetAsync(m.Links[1]);
        Assert.Equal(1, (await TrackingKit.RunAsync(_app, runId)).Clicked);
    }

    [Fact]
    public async Task ForgedAlteredOrTruncatedTokens_Answer404_AndRecordNothing()
    {
        var ws = await _app.CreateWorkspaceAsync();
        var (campaignId, runId, _) = await TrackingKit.SendAsync(_app, ws, contacts: 1);
        var m = (await TrackingKit.OutboxAsync(_app, campaignId))[0];
        _app.Clock!.Advance(TimeSpan.FromMinutes(1));
        static string Flip(string url, int fromEnd)
        {
            var i = url.Length - fromEnd;
            return url[..i] + (url[i] == 'A' ? 'B' : 'A') + url[(i + 1)..];
        }
        var tokens = _app.Services.GetRequiredService<TrackingTokens>();
        var pixelToken = m.Pixel[(m.Pixel.LastIndexOf('/') + 1)..];
        var bad = new List<string>
        {
            Flip(m.Pixel, 1), Flip(m.Pixel, 20), m.Pixel[..^1], m.Pixel[..^8], m.Pixel + "A", Flip(m.Links[0], 3), m.Links[0][..^2],
            "http://herald.test/t/o/" + "AAAAAAAAAAAAAAAAAAAAAAAAAAA", "http://herald.test/t/o/not-a-token", "http://herald.test/t/c/AAAA",
            // A real token of another kind: a pixel token cannot click or unsubscribe.
            "http://herald.test/t/c/" + pixelToken,
        };
        foreach (var url in bad) Assert.Equal(HttpStatusCode.NotFound, (await _app.Reader().GetAsync(url)).StatusCode);
        foreach (var url in new[] { Flip(m.Unsubscribe, 2), "http://herald.test/u/" + pixelToken })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await _app.Reader().GetAsync(url)).StatusCode);
            var post = await _app.Reader().PostAsync(url, new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")]));
            Assert.Equal(HttpStatusCode.NotFound, post.StatusCode);
        }
        // A token signed with this install's key but naming a link of another campaign (as if the key leaked) still cannot redirect there.
        var (otherCampaign, _, _) = await TrackingKit.SendAsync(_app, ws, contacts: 1, html: """<a href="https://elsewhere.example/">x</a>""", prefix: "other");
        var foreignLink = await _app.WithDbAsync(db => db.Set<TrackedLink>().Where(l => l.CampaignId == otherCampaign).Select(l => l.Id).FirstAsync());
        await tokens.EnsureKeyAsync(default);
        Assert.Equal(HttpStatusCode.NotFound, (await _app.Reader().GetAsync(tokens.ClickUrl(m.DeliveryId, foreignLink, 2))).StatusCode);

        Assert.Empty(await TrackingKit.EventsAsync(_app));
        var run = await TrackingKit.RunAsync(_app, runId);
        Assert.Equal((0, 0, 0, 0), (run.OpensTotal, run.ClicksTotal, run.Unsubscribed, run.Opened));
        var contact = await _app.WithDbAsync(db => db.Set<Contact>().FirstAsync(c => c.WorkspaceId == ws.Id && c.Email == "reader0@example.com"));
        Assert.Equal(ConsentStatus.Subscribed, contact.EmailConsent);
        // And the real ones still work.
        Assert.Equal(HttpStatusCode.OK, (await _app.Reader().GetAsync(m.Pixel)).StatusCode);
    }

    [Fact]
    public async Task Unsubscribe_OneClickPost_UnsubscribesAtOnce_Idempotently_AndTheNextCampaignSkipsTheContact()
    {
        var ws = await _app.CreateWorkspaceAsync();
        var (campaignId, runId, contacts) = await TrackingKit.SendAsync(_app, ws, contacts: 2);
        var m = (await TrackingKit.OutboxAsync(_app, campaignId))[0];

        var page = await _app.Reader().GetAsync(m.Unsubscribe);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("r******@example.com", html);
        Assert.Contains("name=\"channel\" value=\"email\" checked", html);
        Assert.Contains("value=\"sms\"", html);
        // Showing the page changes nothing (link scanners fetch it).
        Assert.Empty(await TrackingKit.EventsAsync(_app));

        for (var i = 0; i < 2; i++)
        {
            var r = await _app.Reader().PostAsync(m.Unsubscribe, new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")]));
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
        var contact = await _app.WithDbAsync(db => db.Set<Contact>().FirstAsync(c => c.Id == contacts[0]));
        Assert.Equal((ConsentStatus.Unsubscribed, ConsentStatus.Subscribed), (contact.EmailConsent, contact.SmsConsent));
        Assert.Contains("one_click", contact.ConsentDetail);
        var history = await _app.WithDbAsync(db => db.Set<ConsentChange>().Where(c => c.ContactId == contacts[0]).ToListAsync());
        Assert.Equal([("email", "unsubscribed", "one_click")], history.Select(h => (h.Channel, h.Status, h.Source)).ToArray());
        var suppressed = await _app.WithDbAsync(db => db.Set<Suppression>().Where(s => s.WorkspaceId == ws.Id).ToListAsync());
        Assert.Equal([("email", "reader0@example.com", "unsubscribed")], suppressed.Select(s => (s.Channel, s.Address, s.Reason)).ToArray());
        Assert.Equal(1, (await TrackingKit.RunAsync(_app, runId)).Unsubscribed);
        Assert.Single(await TrackingKit.EventsAsync(_app, runId));

        // The page's choice per channel: SMS too, from the same link.
        var choice = await _app.Reader().PostAsync(m.Unsubscribe, new FormUrlEncodedContent([new("page", "1"), new("channel", "sms")]));
        Assert.Equal(HttpStatusCode.OK, choice.StatusCode);
        contact = await _app.WithDbAsync(db => db.Set<Contact>().FirstAsync(c => c.Id == contacts[0]));
        Assert.Equal(ConsentStatus.Unsubscribed, contact.SmsConsent);
        Assert.Equal(1, (await TrackingKit.RunAsync(_app, runId)).Unsubscribed);

        // The next campaign to both contacts reaches only the other one.
        var campaign2 = await (await ws.Client().PostJsonAsync("/api/v1/campaigns", new
        {
            name = "Next", channel = "email", content = new { email = new { subject = "Again", html = "<p>again</p>" } },
            audience = new { contactIds = contacts }, schedule = new { type = "now" },
        })).ExpectAsync(HttpStatusCode.Created);
        var id2 = campaign2.GetProperty("id").GetString();
        await ws.Client().PostAsync($"/api/v1/campaigns/{id2}/submit", null);
        await (await ws.Client().PostAsync($"/api/v1/campaigns/{id2}/send", null)).ExpectAsync(HttpStatusCode.Accepted);
        await _app.DrainAsync();
        var second = await _app.WithDbAsync(db => db.Set<DeliveryRow>().Where(d => d.CampaignId == long.Parse(id2!)).OrderBy(d => d.ContactId).ToListAsync());
        Assert.Equal([(contacts[0], "skipped", "unsubscribed"), (contacts[1], "sent", (string?)null)], second.Select(d => (d.ContactId, d.Status, d.Reason)).ToArray());
    }

    [Fact]
    public async Task Stats_EqualTheSumsOfEvents()
    {
        var ws = await _app.CreateWorkspaceAsync();
        var variants = new object[]
        {
            new { name = "A", weight = 50, content = new { } },
            new { name = "B", weight = 50, content = new { email = new { subject = "B", html = """<a href="https://b.example/">b</a>""" } } },
        };
        var (campaignId, runId, contacts) = await TrackingKit.SendAsync(_app, ws, contacts: 8, variants: variants);
        var messages = await TrackingKit.OutboxAsync(_app, campaignId);
        _app.Clock!.Advance(TimeSpan.FromMinutes(1));
        foreach (var (m, i) in messages.Select((m, i) => (m, i)))
        {
            if (i % 2 == 0) await _app.Reader().GetAsync(m.Pixel);
            if (i % 3 == 0) await _app.Reader("curl/8.0").GetAsync(m.Pixel);
            _app.Clock.Advance(TimeSpan.FromSeconds(40));
            if (i % 3 != 2) await _app.Reader().GetAsync(m.Links[0]);
            if (i == 1) await _app.Reader().PostAsync(m.Unsubscribe, new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")]));
        }
        await (await ws.Client().PostJsonAsync("/api/v1/conversions", new { deliveryId = messages[0].DeliveryId.ToString(), value = 120.5, currency = "INR" }))
            .ExpectAsync(HttpStatusCode.Created);

        var events = await TrackingKit.EventsAsync(_app, runId);
        int Unique(string type) => events.Where(e => e.Type == type && !e.Machine).Select(e => e.DeliveryId).Distinct().Count();
        var stats = await TrackingKit.StatsAsync(ws, campaignId);
        Assert.Equal(Unique("opened"), stats.I("opened"));
        Assert.Equal(Unique("clicked"), stats.I("clicked"));
        Assert.Equal(Unique("unsubscribed"), stats.I("unsubscribed"));
        Assert.Equal(Unique("converted"), stats.I("converted"));
        Assert.Equal(events.Count(e => e.Type == "opened"), stats.I("opensTotal"));
        Assert.Equal(events.Count(e => e.Type == "opened" && e.Machine), stats.I("machineOpens"));
        Assert.Equal(events.Count(e => e.Type == "clicked"), stats.I("clicksTotal"));
        Assert.Equal(120.5m, stats.GetProperty("conversionValue").GetDecimal());
        Assert.Equal(8, stats.I("sent"));
        Assert.True(stats.I("opened") > 0 && stats.I("clicked") > 0);

        var timeline = stats.GetProperty("timeline").EnumerateArray().ToList();
        Assert.Equal(stats.I("sent"), timeline.Sum(p => p.I("sent")));
        Assert.Equal(stats.I("opened"), timeline.Sum(p => p.I("opened")));
        Assert.Equal(stats.I("clicked"), timeline.Sum(p => p.I("clicked")));
        var vs = stats.GetProperty("variants").EnumerateArray().ToList();
        Assert.Equal(new[] { "A", "B" }, vs.Select(v => v.GetProperty("name").GetString()!).ToArray());
        foreach (var field in new[] { "total", "sent", "opened", "clicked", "unsubscribed", "converted" })
            Assert.Equal(stats.I(field == "total" ? "totalRecipients" : field), vs.Sum(v => v.I(field)));
        Assert.Equal(stats.I("clicksTotal"), stats.GetProperty("links").EnumerateArray().Sum(l => l.I("clicks")));
        Assert.Single(stats.GetProperty("runs").EnumerateArray());

        // The CSV export lists each delivery's events; cells are neutralized against formulas.
        var csv = await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/campaigns/{campaignId}/deliveries?format=csv")).Content.ReadAsStringAsync();
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(9, lines.Length);
        Assert.EndsWith("opened_at,clicked_at,opens,clicks,unsubscribed,conversions,conversion_value,events", lines[0].TrimEnd('\r'));
        Assert.Contains("converted", lines[1]);
        Assert.Matches(@"converted \S+ 120\.50? INR", lines[1]);
    }

    [Fact]
    public async Task PublicEndpoints_AreRateLimitedPerClient()
    {
        var app = new TrackingApp { Settings = { ["Herald:RateLimits:PublicBurst"] = "3", ["Herald:RateLimits:PublicPerSecond"] = "1" } };
        await app.InitializeAsync();
        var codes = new List<HttpStatusCode>();
        try
        {
            for (var i = 0; i < 5; i++) codes.Add((await app.Reader().GetAsync("http://herald.test/t/o/AAAAAAAAAAAAAAAAAAAAAAAAAAA")).StatusCode);
        }
        finally
        {
            await app.DisposeAsync();
        }
        Assert.Equal([HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], codes);
    }
}
