using Herald.Templates;
using Herald.Tests.Infrastructure;
using Herald.Tracking;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Tracking;

/// <summary>Signed tokens: compact, bound to their kind, and no altered byte or other install's key passes.</summary>
public sealed class TrackingTokenTests(HeraldApp app) : IClassFixture<HeraldApp>
{
    private async Task<TrackingTokens> TokensAsync()
    {
        var t = app.Services.GetRequiredService<TrackingTokens>();
        await t.EnsureKeyAsync(default);
        return t;
    }

    [Fact]
    public async Task Token_RoundTrips_AndIsCompactAndUrlSafe()
    {
        var t = await TokensAsync();
        var click = t.Create(new TrackingToken(TokenKind.Click, 9_876_543_210, 123_456, 7));
        Assert.Equal(new TrackingToken(TokenKind.Click, 9_876_543_210, 123_456, 7), t.Read(click, TokenKind.Click));
        Assert.Matches("^[A-Za-z0-9_-]+$", click);
        Assert.True(click.Length <= 40, click);
        var open = t.Create(new TrackingToken(TokenKind.Open, 42));
        Assert.True(open.Length <= 27, open);
        Assert.Equal(42, t.Read(open, TokenKind.Open)!.Value.DeliveryId);
        // Two deliveries' tokens share nothing guessable: the MAC part differs entirely.
        Assert.NotEqual(t.Create(new TrackingToken(TokenKind.Open, 43))[^20..], open[^20..]);
    }

    [Fact]
    public async Task Token_AnyAlteredCharacter_Truncation_OrOtherKind_IsRefused()
    {
        var t = await TokensAsync();
        var token = t.Create(new TrackingToken(TokenKind.Unsubscribe, 1234));
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for (var i = 0; i < token.Length; i++)
        {
            var other = alphabet[(alphabet.IndexOf(token[i]) + 1) % alphabet.Length];
            Assert.Null(t.Read(token[..i] + other + token[(i + 1)..], TokenKind.Unsubscribe));
        }
        for (var n = 0; n < token.Length; n++) Assert.Null(t.Read(token[..n], TokenKind.Unsubscribe));
        Assert.Null(t.Read(token + "AA", TokenKind.Unsubscribe));
        Assert.Null(t.Read(token, TokenKind.Open));
        Assert.Null(t.Read(token, TokenKind.Click));
        Assert.NotNull(t.Read(token, TokenKind.Unsubscribe));
    }

    [Fact]
    public async Task Token_FromAnotherInstall_IsRefused()
    {
        var mine = await TokensAsync();
        var other = new HeraldApp();
        await other.InitializeAsync();
        try
        {
            var theirs = other.Services.GetRequiredService<TrackingTokens>();
            await theirs.EnsureKeyAsync(default);
            Assert.Null(mine.Read(theirs.Create(new TrackingToken(TokenKind.Open, 1)), TokenKind.Open));
        }
        finally
        {
            await other.DisposeAsync();
        }
    }
}

/// <summary>What the rewrite tracks and what it leaves alone; it works on the template source, once per run.</summary>
public sealed class LinkRewriterTests
{
    private static string? RunWide(string liquid) => liquid.Replace("{{ product.url }}", "https://shop.example/p/42").Replace("{{ campaign.name | url_encode }}", "Sale");

    private static LinkRewriter.Result Email(string html, CampaignTracking? settings = null) =>
        LinkRewriter.Rewrite("email", new ChannelContent { Email = new EmailContent { Subject = "s", Html = html } }, settings ?? CampaignTracking.Default, RunWide);

    [Fact]
    public void Html_TracksWebLinks_LeavesTheRestAsWritten()
    {
        var r = Email("""
            <a href="https://a.example/x?q=1&amp;r=2">A</a> <a class="btn" href='https://b.example/'>B</a> <a href="https://a.example/x?q=1&amp;r=2">A again</a>
            <a href="mailto:help@example.com">mail</a> <a href="#top">top</a> <a href="{{ unsubscribeUrl }}">unsub</a>
            <a href="https://c.example/{{ contact.id }}">mine</a> <a data-notrack href="https://d.example/">no</a>
            <a href="{{ product.url }}">product</a> <a href="https://e.example/?c={{ campaign.name | url_encode }}">camp</a>
            {% for p in contact.attributes.items %}<a href="{{ p.url }}">loop</a>{% endfor %}<a href="/relative">rel</a>
            """);
        Assert.Equal(["https://a.example/x?q=1&r=2", "https://b.example/", "https://shop.example/p/42", "https://e.example/?c=Sale"], r.Urls);
        var html = r.Content.Email!.Html!;
        Assert.Equal(2 * 6, html.Count(c => c == LinkRewriter.Mark)); // five link markers (A twice) and the pixel's
        foreach (var kept in new[] { "mailto:help@example.com", "#top", "{{ unsubscribeUrl }}", "https://c.example/{{ contact.id }}", "https://d.example/", "{{ p.url }}", "/relative" })
            Assert.Contains(kept, html);
        Assert.Contains("class=\"btn\" href='\u00011\u0001'", html);
    }

    [Fact]
    public void Pixel_GoesBeforeBodyEnd_OrAtTheEnd_AndOnlyWhenOpensAreTracked()
    {
        var page = Email("<html><body>x</body></html>").Content.Email!.Html!;
        Assert.StartsWith("<html><body>x<img src=\"" + LinkRewriter.PixelMarker + "\"", page);
        Assert.EndsWith(" /></body></html>", page);
        Assert.Contains(LinkRewriter.PixelMarker + "\" width=\"1\"", Email("<p>x</p>").Content.Email!.Html!);
        var none = Email("<p><a href=\"https://a.example/\">a</a></p>", new CampaignTracking { Opens = false, Clicks = false });
        Assert.Equal("<p><a href=\"https://a.example/\">a</a></p>", none.Content.Email!.Html);
        Assert.Empty(none.Urls);
    }

    [Fact]
    public void TextLinks_OnlyWhenTheCampaignOptsIn_AndNotWhenContactDataCompletesThem()
    {
        var sms = new ChannelContent { Sms = new SmsContent { Body = "Sale: https://s.example/d. Yours: https://s.example/u/{{ contact.id }} {{ 'https://inside.example' }}" } };
        Assert.Same(sms, LinkRewriter.Rewrite("sms", sms, CampaignTracking.Default, RunWide).Content);
        var r = LinkRewriter.Rewrite("sms", sms, new CampaignTracking { TextLinks = true }, RunWide);
        Assert.Equal(["https://s.example/d"], r.Urls);
        Assert.Equal("Sale: \u00010\u0001. Yours: https://s.example/u/{{ contact.id }} {{ 'https://inside.example' }}", r.Content.Sms!.Body);
    }
}
