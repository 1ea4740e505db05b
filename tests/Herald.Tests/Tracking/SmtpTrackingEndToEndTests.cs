using System.Net;
using System.Text.RegularExpressions;
using Herald.Auth;
using Herald.Contacts;
using Herald.Delivery;
using Herald.Tests.Channels;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace Herald.Tests.Tracking;

/// <summary>
/// The whole loop over real sockets: a campaign sent over SMTP to a local SMTP server, its pixel, link and unsubscribe
/// URLs read from the received MIME and fetched with a plain HttpClient from Herald on Kestrel; the stats move and the
/// unsubscribed contact is skipped by the next campaign.
/// </summary>
public sealed class SmtpTrackingEndToEndTests : IAsyncLifetime
{
    private readonly SmtpSink _sink = new();
    private readonly HeraldApp _app = new()
    {
        KestrelPort = SmtpSink.FreePort(),
        // Wall-clock time here: fetching a second after the send must not read as a scanner.
        Settings = { ["Herald:Tracking:MachineAfterSend"] = "00:00:00" },
    };

    public Task InitializeAsync() => _app.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await _sink.DisposeAsync();
    }

    [Fact]
    public async Task EmailOverSmtp_PixelLinkAndUnsubscribeFetchedOverHttp_MoveStatsAndSuppressTheContact()
    {
        var ws = await _app.CreateWorkspaceAsync("smtp");
        var admin = ws.Client();
        await (await admin.PostJsonAsync("/api/v1/channels", new
        {
            channel = "email", provider = "smtp", name = "Local SMTP", @default = true,
            settings = new { host = "127.0.0.1", port = _sink.Port, security = "none", fromEmail = "news@shop.example", fromName = "Shop", maxConnections = 2 },
        })).ExpectAsync(HttpStatusCode.Created);
        var asha = long.Parse((await (await admin.PostJsonAsync("/api/v1/contacts", new { email = "asha@example.com", firstName = "Asha" })).ExpectAsync(HttpStatusCode.Created))
            .GetProperty("id").GetString()!);
        var ravi = long.Parse((await (await admin.PostJsonAsync("/api/v1/contacts", new { email = "ravi@example.com", firstName = "Ravi" })).ExpectAsync(HttpStatusCode.Created))
            .GetProperty("id").GetString()!);

        async Task<long> Campaign(string name)
        {
            var c = await (await admin.PostJsonAsync("/api/v1/campaigns", new
            {
                name, channel = "email", audience = new { contactIds = new[] { asha, ravi } }, schedule = new { type = "now" },
                content = new
                {
                    email = new
                    {
                        subject = "Diwali sale, {{ contact.firstName }}",
                        html = """<html><body><p>Hi {{ contact.firstName }}, 70% off.</p><p><a href="https://shop.example/diwali?utm=mail">Shop now</a></p><p><a href="{{ unsubscribeUrl }}">Unsubscribe</a></p></body></html>""",
                    },
                },
            })).ExpectAsync(HttpStatusCode.Created);
            var id = long.Parse(c.GetProperty("id").GetString()!);
            await (await admin.PostAsync($"/api/v1/campaigns/{id}/submit", null)).ExpectAsync(HttpStatusCode.OK);
            await (await admin.PostAsync($"/api/v1/campaigns/{id}/send", null)).ExpectAsync(HttpStatusCode.Accepted);
            var engine = _app.Services.GetRequiredService<DeliveryEngine>();
            for (var i = 0; i < 20 && (await engine.RunOnceAsync(default)).Claimed > 0; i++) { }
            return id;
        }

        var first = await Campaign("Diwali");
        Assert.Equal(2, _sink.Messages.Count);
        var mime = _sink.Messages.Select(m => m.Message).Single(m => m.To.Mailboxes.Single().Address == "asha@example.com");
        var html = mime.HtmlBody!;
        var baseUrl = $"http://127.0.0.1:{_app.KestrelPort}";
        var pixel = Regex.Match(html, "<img src=\"([^\"]+)\"").Groups[1].Value;
        var link = Regex.Match(html, "href=\"([^\"]+)\">Shop now").Groups[1].Value;
        var unsubscribeInBody = Regex.Match(html, "href=\"([^\"]+)\">Unsubscribe").Groups[1].Value;
        var header = mime.Headers[HeaderId.ListUnsubscribe]!;
        var unsubscribe = Regex.Match(header, "<(http[^>]+)>").Groups[1].Value;
        Assert.StartsWith(baseUrl + "/t/o/", pixel);
        Assert.StartsWith(baseUrl + "/t/c/", link);
        Assert.StartsWith(baseUrl + "/u/", unsubscribe);
        Assert.Equal(unsubscribe, unsubscribeInBody);
        Assert.Equal("List-Unsubscribe=One-Click", mime.Headers[HeaderId.ListUnsubscribePost]);
        Assert.DoesNotContain("shop.example/diwali", html);
        // The plain-text part (made from the HTML) carries the tracked link too.
        Assert.Contains(link, mime.TextBody);

        // A reader's mail client, over real HTTP.
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        http.DefaultRequestHeaders.TryAddWithoutValidation("User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15");
        var gif = await http.GetAsync(pixel);
        Assert.Equal(HttpStatusCode.OK, gif.StatusCode);
        Assert.Equal("image/gif", gif.Content.Headers.ContentType!.MediaType);
        var click = await http.GetAsync(link);
        Assert.Equal(HttpStatusCode.Redirect, click.StatusCode);
        Assert.Equal("https://shop.example/diwali?utm=mail", click.Headers.Location!.OriginalString);
        // The mail client's one-click unsubscribe (RFC 8058): a POST to the List-Unsubscribe URL.
        var post = await http.PostAsync(unsubscribe, new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")]));
        Assert.Equal(HttpStatusCode.OK, post.StatusCode);

        var stats = await TrackingKit.StatsAsync(ws, first);
        Assert.Equal((2, 1, 1, 1), (stats.I("sent"), stats.I("opened"), stats.I("clicked"), stats.I("unsubscribed")));
        Assert.Equal(0.5, stats.GetProperty("openRate").GetDouble());
        Assert.Equal(0.5, stats.GetProperty("unsubscribeRate").GetDouble());
        var timeline = stats.GetProperty("timeline").EnumerateArray().ToList();
        Assert.Equal((2, 1, 1), (timeline.Sum(p => p.I("sent")), timeline.Sum(p => p.I("opened")), timeline.Sum(p => p.I("clicked"))));
        var contact = await _app.WithDbAsync(db => db.Set<Contact>().FirstAsync(c => c.Id == asha));
        Assert.Equal(ConsentStatus.Unsubscribed, contact.EmailConsent);
        Assert.True(await _app.WithDbAsync(db => db.Set<Suppression>().AnyAsync(s => s.WorkspaceId == ws.Id && s.Address == "asha@example.com")));

        // The next campaign to both reaches only Ravi.
        _sink.Messages.Clear();
        var second = await Campaign("Diwali, last day");
        Assert.Equal(["ravi@example.com"], _sink.Messages.Select(m => m.To.Single()).ToArray());
        var skipped = await _app.WithDbAsync(db => db.Set<DeliveryRow>().SingleAsync(d => d.CampaignId == second && d.ContactId == asha));
        Assert.Equal((DeliveryStatus.Skipped, "unsubscribed"), (skipped.Status, skipped.Reason));
        var stats2 = await TrackingKit.StatsAsync(ws, second);
        Assert.Equal((2, 1, 1), (stats2.I("totalRecipients"), stats2.I("sent"), stats2.I("skipped")));
    }
}
