using Herald.Channels;
using Herald.Hosting;
using Herald.Templates;
using Herald.Tracking;
using Microsoft.Extensions.Options;

namespace Herald.Tests.Tracking;

/// <summary>
/// The per-message half of tracking, without a database: the markers a rewritten message carries become that
/// delivery's own signed URLs, and anything that only looks like a marker stays as written.
/// </summary>
public sealed class RunTrackingTests
{
    private const char M = LinkRewriter.Mark;
    private static readonly long[] Links = [501, 502];

    private static TrackingTokens Tokens(byte seed = 7)
    {
        var t = new TrackingTokens(null!, Options.Create(new HeraldOptions { PublicBaseUrl = "https://h.test/" }), TimeProvider.System);
        t.UseKey(Enumerable.Range(0, 32).Select(i => (byte)(i * seed)).ToArray());
        return t;
    }

    private static RunTracking Run(TrackingTokens tokens) =>
        RunTracking.Create(tokens, [((null, ChannelNames.Email), new ChannelContent(), Links)]);

    private static RenderedMessage Email(string html, string? text = null) => new() { Subject = "s", Html = html, Text = text };

    [Fact]
    public void Urls_AreTheBaseUrlPathAndAToken_ThatReadsBackAsItsKind()
    {
        var t = Tokens();
        var open = t.OpenUrl(42);
        Assert.Equal("https://h.test/t/o/" + t.Create(new TrackingToken(TokenKind.Open, 42)), open);
        Assert.Equal(new TrackingToken(TokenKind.Open, 42), t.Read(open["https://h.test/t/o/".Length..], TokenKind.Open));
        var click = t.ClickUrl(9_876_543_210, 123_456, 7);
        Assert.Equal(new TrackingToken(TokenKind.Click, 9_876_543_210, 123_456, 7), t.Read(click["https://h.test/t/c/".Length..], TokenKind.Click));
        var unsubscribe = t.UnsubscribeUrl(43);
        Assert.Equal(new TrackingToken(TokenKind.Unsubscribe, 43), t.Read(unsubscribe["https://h.test/u/".Length..], TokenKind.Unsubscribe));
    }

    [Fact]
    public void Tokens_OfTwoKeysSignedInTurnOnOneThread_EachVerifyOnlyWithTheirOwnKey()
    {
        TrackingTokens a = Tokens(3), b = Tokens(5);
        for (var i = 1; i <= 3; i++)
        {
            var fromA = a.Create(new TrackingToken(TokenKind.Open, i));
            var fromB = b.Create(new TrackingToken(TokenKind.Open, i));
            Assert.NotEqual(fromA, fromB);
            Assert.NotNull(a.Read(fromA, TokenKind.Open));
            Assert.Null(a.Read(fromB, TokenKind.Open));
            Assert.NotNull(b.Read(fromB, TokenKind.Open));
            Assert.Null(b.Read(fromA, TokenKind.Open));
        }
    }

    [Fact]
    public void Apply_EachMarker_BecomesThisDeliverysUrl_TheSameLinkTheSameUrlInEveryPart()
    {
        var t = Tokens();
        var m = Run(t).Apply(null, ChannelNames.Email, 77, Email($"<a href=\"{M}0{M}\">a</a><a href=\"{M}1{M}\">b</a><a href=\"{M}0{M}\">a</a><img src=\"{M}o{M}\">", $"b: {M}1{M}"));
        string Click(int i) => t.ClickUrl(77, Links[i], 2);
        Assert.Equal($"<a href=\"{Click(0)}\">a</a><a href=\"{Click(1)}\">b</a><a href=\"{Click(0)}\">a</a><img src=\"{t.OpenUrl(77)}\">", m.Html);
        Assert.Equal($"b: {Click(1)}", m.Text);
        Assert.Equal("s", m.Subject);
        var other = Run(t).Apply(null, ChannelNames.Email, 78, Email($"{M}0{M}"));
        Assert.NotEqual(Click(0), other.Html);
    }

    [Theory]
    [InlineData("a\u0001x\u0001b")]          // not a link index
    [InlineData("a\u00012\u0001b")]          // an index past the run's links
    [InlineData("a\u0001-1\u0001b")]
    [InlineData("a\u0001\u0001b")]           // empty
    [InlineData("trailing \u0001")]          // unclosed
    [InlineData("plain text, no marker")]
    public void Apply_WhatOnlyLooksLikeAMarker_IsLeftAsWritten(string html) =>
        Assert.Equal(html, Run(Tokens()).Apply(null, ChannelNames.Email, 1, Email(html)).Html);

    [Fact]
    public void Apply_ManyMarkers_OutputFarLongerThanTheSource_IsComplete()
    {
        var t = Tokens();
        var html = string.Concat(Enumerable.Range(0, 300).Select(i => $"<p>{i}</p><a href=\"{M}{i % 2}{M}\">x</a>")) + $"{M}o{M}";
        var m = Run(t).Apply(null, ChannelNames.Email, 5, Email(html));
        var expected = html.Replace($"{M}0{M}", t.ClickUrl(5, 501, 2)).Replace($"{M}1{M}", t.ClickUrl(5, 502, 2)).Replace($"{M}o{M}", t.OpenUrl(5));
        Assert.Equal(expected, m.Html);
    }

    [Fact]
    public void Apply_WhatsAppParameters_AreSwappedToo_AndOtherChannelsUntouched()
    {
        var t = Tokens();
        var run = RunTracking.Create(t, [((null, ChannelNames.WhatsApp), new ChannelContent(), Links)]);
        var m = new RenderedMessage { Parameters = ["Asha", $"{M}1{M}"], Body = $"go {M}0{M}" };
        var swapped = run.Apply(null, ChannelNames.WhatsApp, 9, m);
        Assert.Equal(["Asha", t.ClickUrl(9, 502, 2)], swapped.Parameters);
        Assert.Equal("go " + t.ClickUrl(9, 501, 2), swapped.Body);
        Assert.Same(m, run.Apply(null, ChannelNames.Sms, 9, m));
    }
}
