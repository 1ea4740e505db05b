using System.Security.Cryptography;
using Herald.Channels;
using Herald.Channels.Smtp;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;

namespace Herald.Tests.Channels;

/// <summary>The smtp provider against a real SMTP server (SmtpServer package) on loopback.</summary>
public sealed class SmtpProviderTests
{
    private static OutgoingMessage Email(long id, string to, RenderedMessage content) =>
        new(id, 1, 7, 70, 1000 + id, ChannelNames.Email, to, content);

    private static readonly RenderedMessage Newsletter = new()
    {
        Subject = "Winter sale",
        Html = "<html><head><style>p{color:red}</style></head><body><h1>Winter sale</h1><p>Up to <b>50%</b> off &amp; free shipping.</p><a href=\"https://shop.example/sale\">Shop now</a></body></html>",
        UnsubscribeUrl = "https://herald.test/u/tok123",
    };

    [Fact]
    public async Task SendBatch_HtmlWithUnsubscribe_DeliversMultipartWithRfc8058HeadersAndDeliveryMessageId()
    {
        await using var sink = new SmtpSink("mailer", "s3cret");
        await using var provider = new SmtpProvider(sink.Settings(), TimeProvider.System);

        var results = await provider.SendBatchAsync([Email(123, "ana@example.com", Newsletter)], default);

        var r = Assert.Single(results);
        Assert.True(r.Succeeded, r.ErrorText);
        var received = Assert.Single(sink.Messages);
        Assert.Equal(["ana@example.com"], received.To);
        Assert.Equal("news@shop.example", received.From);
        Assert.Equal("mailer", Assert.Single(sink.Logins));
        var m = received.Message;
        Assert.Equal("Winter sale", m.Subject);
        Assert.StartsWith("d123.", m.MessageId);
        Assert.EndsWith("@shop.example", m.MessageId);
        Assert.Equal(m.MessageId, r.ProviderMessageId);
        Assert.Equal("<mailto:news@shop.example?subject=unsubscribe%20d123>, <https://herald.test/u/tok123>", m.Headers[HeaderId.ListUnsubscribe]);
        Assert.Equal("List-Unsubscribe=One-Click", m.Headers[HeaderId.ListUnsubscribePost]);

        var alt = Assert.IsType<MultipartAlternative>(m.Body);
        Assert.Equal(2, alt.Count);
        var text = Assert.IsType<TextPart>(alt[0]);
        var html = Assert.IsType<TextPart>(alt[1]);
        Assert.True(text.IsPlain);
        Assert.True(html.IsHtml);
        Assert.Contains("<b>50%</b>", html.Text);
        // Text generated from the HTML: readable, no tags, no CSS, links kept.
        Assert.Contains("Up to 50% off & free shipping.", text.Text);
        Assert.Contains("Shop now (https://shop.example/sale)", text.Text);
        Assert.DoesNotContain("<", text.Text);
        Assert.DoesNotContain("color:red", text.Text);
    }

    [Fact]
    public async Task SendBatch_WithoutUnsubscribeUrl_OmitsListUnsubscribeAndSendsPlainText()
    {
        await using var sink = new SmtpSink();
        await using var provider = new SmtpProvider(sink.Settings(), TimeProvider.System);

        var r = await provider.SendBatchAsync([Email(5, "bo@example.com", new RenderedMessage { Subject = "Receipt", Text = "Thanks for your order." })], default);

        Assert.True(r[0].Succeeded, r[0].ErrorText);
        var m = Assert.Single(sink.Messages).Message;
        Assert.Null(m.Headers[HeaderId.ListUnsubscribe]);
        Assert.Null(m.Headers[HeaderId.ListUnsubscribePost]);
        var part = Assert.IsType<TextPart>(m.Body);
        Assert.True(part.IsPlain);
        Assert.Equal("Thanks for your order.", part.Text.Trim());
    }

    /// <summary>Non-ASCII text, a line over the 998-octet limit and mixed line breaks: the body goes quoted-printable.</summary>
    private static readonly RenderedMessage International = new()
    {
        Subject = "Grüße aus Zürich",
        Html = "<html><body>\r\n<p>Schöne Grüße, 50% Rabatt – nur heute.</p>\n<p>" + new string('x', 1500) + "</p>\r<a href=\"https://shop.example/sale\">Jetzt kaufen</a></body></html>",
        Text = "Schöne Grüße,\r\n50% Rabatt – nur heute.\nhttps://shop.example/sale",
        UnsubscribeUrl = "https://herald.test/u/tok456",
    };

    [Fact]
    public async Task SendBatch_NonAsciiAndLongLines_ArrivesSevenBitCleanAndDecodesToTheSameText()
    {
        await using var sink = new SmtpSink();
        await using var provider = new SmtpProvider(sink.Settings(), TimeProvider.System);

        var r = Assert.Single(await provider.SendBatchAsync([Email(11, "eva@example.com", International)], default));

        Assert.True(r.Succeeded, r.ErrorText);
        var received = Assert.Single(sink.Messages);
        // 7-bit clean with lines within RFC 5322's limit: valid over any relay, nothing for one to re-encode.
        Assert.All(received.Raw, b => Assert.InRange(b, (byte)1, (byte)127));
        var lines = System.Text.Encoding.ASCII.GetString(received.Raw).Split("\r\n");
        Assert.All(lines, l => Assert.InRange(l.Length, 0, 998));
        Assert.DoesNotContain(lines, l => l.Contains('\n') || l.Contains('\r'));
        var m = received.Message;
        Assert.Equal("Grüße aus Zürich", m.Subject);
        var alt = Assert.IsType<MultipartAlternative>(m.Body);
        var text = Assert.IsType<TextPart>(alt[0]);
        var html = Assert.IsType<TextPart>(alt[1]);
        Assert.Equal(ContentEncoding.QuotedPrintable, html.ContentTransferEncoding);
        Assert.Equal(International.Text!.ReplaceLineEndings("\n"), text.Text.ReplaceLineEndings("\n"));
        Assert.Equal(International.Html!.ReplaceLineEndings("\n"), html.Text.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task SendBatch_PlainTextWithLeadingDots_ArrivesUnchanged()
    {
        await using var sink = new SmtpSink();
        await using var provider = new SmtpProvider(sink.Settings(), TimeProvider.System);
        var body = "Order 42\n.\n..hidden line\n.\r\nFrom the shop";

        var r = await provider.SendBatchAsync([Email(12, "dot@example.com", new RenderedMessage { Subject = "Receipt", Text = body })], default);

        Assert.True(r[0].Succeeded, r[0].ErrorText);
        var part = Assert.IsType<TextPart>(Assert.Single(sink.Messages).Message.Body);
        Assert.Equal(body.ReplaceLineEndings("\n"), part.Text.ReplaceLineEndings("\n"));
    }

    public static TheoryData<string> DkimContents => new() { "newsletter", "international" };

    [Theory]
    [MemberData(nameof(DkimContents))]
    public async Task SendBatch_WithDkim_SignsMessageVerifiableWithThePublicKey(string content)
    {
        using var rsa = RSA.Create(2048);
        await using var sink = new SmtpSink();
        var settings = sink.Settings();
        settings.Dkim = new DkimSettings { Domain = "shop.example", Selector = "herald", PrivateKeyPem = rsa.ExportPkcs8PrivateKeyPem() };
        settings.Validate().ThrowIfInvalid();
        await using var provider = new SmtpProvider(settings, TimeProvider.System);

        var r = await provider.SendBatchAsync([Email(9, "cy@example.com", content == "newsletter" ? Newsletter : International)], default);

        Assert.True(r[0].Succeeded, r[0].ErrorText);
        var m = Assert.Single(sink.Messages).Message;
        var signature = m.Headers[HeaderId.DkimSignature];
        Assert.NotNull(signature);
        Assert.Contains("d=shop.example", signature);
        Assert.Contains("s=herald", signature);
        Assert.Contains("list-unsubscribe", signature, StringComparison.OrdinalIgnoreCase);
        var verifier = new DkimVerifier(new OneKeyLocator(rsa));
        var header = m.Headers[m.Headers.IndexOf(HeaderId.DkimSignature)];
        Assert.True(await verifier.VerifyAsync(m, header), "DKIM signature does not verify against the public key");
    }

    [Fact]
    public async Task SendBatch_200Messages_ReusesAtMostMaxConnections()
    {
        await using var sink = new SmtpSink("mailer", "s3cret");
        await using var provider = new SmtpProvider(sink.Settings(maxConnections: 3), TimeProvider.System);
        var batch = Enumerable.Range(1, 100).Select(i => Email(i, $"user{i}@example.com", Newsletter)).ToList();

        var first = await provider.SendBatchAsync(batch, default);
        var second = await provider.SendBatchAsync(batch.Select(m => m with { DeliveryId = m.DeliveryId + 100 }).ToList(), default);

        Assert.All(first.Concat(second), r => Assert.True(r.Succeeded, r.ErrorText));
        Assert.Equal(200, sink.Messages.Count);
        Assert.InRange(sink.Sessions, 1, 3);
        Assert.InRange(provider.Pool.Opened, 1, 3);
        Assert.InRange(sink.Messages.Select(m => m.SessionId).Distinct().Count(), 1, 3);
        Assert.Equal(200, sink.Messages.Select(m => m.Message.MessageId).Distinct().Count());
    }

    [Fact]
    public async Task SendBatch_MailboxUnknown550_IsPermanentAndSuppressesWhileOthersStillSend()
    {
        await using var sink = new SmtpSink();
        sink.Rejections["gone@example.com"] = 550;
        await using var provider = new SmtpProvider(sink.Settings(maxConnections: 1), TimeProvider.System);

        var results = await provider.SendBatchAsync(
            [Email(1, "ok1@example.com", Newsletter), Email(2, "gone@example.com", Newsletter), Email(3, "ok2@example.com", Newsletter)], default);

        var gone = results.Single(r => r.DeliveryId == 2);
        Assert.Equal(FailureKind.Permanent, gone.Failure);
        Assert.True(gone.SuppressAddress);
        Assert.Equal("smtp_550", gone.ErrorCode);
        Assert.All(results.Where(r => r.DeliveryId != 2), r => Assert.True(r.Succeeded, r.ErrorText));
        Assert.Equal(["ok1@example.com", "ok2@example.com"], sink.Messages.SelectMany(m => m.To).Order().ToArray());
        Assert.Equal(1, sink.Sessions); // the rejection did not cost the connection
    }

    [Fact]
    public async Task SendBatch_TemporaryFailure451_IsTransientWithoutSuppression()
    {
        await using var sink = new SmtpSink();
        sink.Rejections["busy@example.com"] = 451;
        await using var provider = new SmtpProvider(sink.Settings(), TimeProvider.System);

        var r = Assert.Single(await provider.SendBatchAsync([Email(4, "busy@example.com", Newsletter)], default));

        Assert.Equal(FailureKind.Transient, r.Failure);
        Assert.False(r.SuppressAddress);
        Assert.Equal("smtp_451", r.ErrorCode);
        Assert.Empty(sink.Messages);
    }

    [Fact]
    public async Task SendBatch_ServerDown_IsTransientAndReconnectsWhenBack()
    {
        var settings = new SmtpSettings { Host = "127.0.0.1", Port = SmtpSink.FreePort(), Security = "none", FromEmail = "news@shop.example", MaxConnections = 2 };
        await using var provider = new SmtpProvider(settings, TimeProvider.System);

        var down = Assert.Single(await provider.SendBatchAsync([Email(1, "a@example.com", Newsletter)], default));
        Assert.Equal(FailureKind.Transient, down.Failure);
        Assert.Equal("smtp_connect", down.ErrorCode);
    }

    [Fact]
    public async Task SendBatch_WrongPassword_IsTransientAuthFailure()
    {
        await using var sink = new SmtpSink("mailer", "s3cret");
        var settings = sink.Settings();
        settings.Password = "wrong";
        await using var provider = new SmtpProvider(settings, TimeProvider.System);

        var r = Assert.Single(await provider.SendBatchAsync([Email(1, "a@example.com", Newsletter)], default));

        Assert.Equal(FailureKind.Transient, r.Failure);
        Assert.Equal("smtp_auth", r.ErrorCode);
        Assert.Empty(sink.Messages);
    }

    [Fact]
    public async Task SendBatch_InvalidAddress_IsPermanent()
    {
        await using var sink = new SmtpSink();
        await using var provider = new SmtpProvider(sink.Settings(), TimeProvider.System);

        var r = Assert.Single(await provider.SendBatchAsync([Email(1, "not an address", Newsletter)], default));

        Assert.Equal(FailureKind.Permanent, r.Failure);
        Assert.Empty(sink.Messages);
    }

    private sealed class OneKeyLocator(RSA rsa) : IDkimPublicKeyLocator
    {
        private AsymmetricKeyParameter Key()
        {
            var pem = rsa.ExportSubjectPublicKeyInfoPem();
            using var reader = new StringReader(pem);
            return (AsymmetricKeyParameter)new Org.BouncyCastle.OpenSsl.PemReader(reader).ReadObject();
        }

        public AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken ct = default) => Key();

        public Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken ct = default) => Task.FromResult(Key());
    }
}
