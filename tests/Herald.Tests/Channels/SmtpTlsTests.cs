using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Herald.Channels;
using Herald.Channels.Smtp;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Channels;

/// <summary>
/// The smtp provider's <c>tls</c> and <c>starttls</c> modes against the SmtpServer sink holding a self-signed
/// certificate made here: trusted only when its fingerprint is pinned in the settings, refused otherwise.
/// </summary>
public sealed class SmtpTlsTests(HeraldApp app) : IClassFixture<HeraldApp>
{
    private static readonly X509Certificate2 Certificate = SelfSigned("relay.shop.internal");
    private static readonly X509Certificate2 OtherCertificate = SelfSigned("relay.shop.internal");

    /// <summary>A self-signed server certificate, as a private relay would have.</summary>
    private static X509Certificate2 SelfSigned(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false)); // server authentication
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        // Through PKCS#12 so the private key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }

    private static SmtpSettings Settings(SmtpSink sink, string security, string? pin) => new()
    {
        Host = "127.0.0.1", Port = sink.Port, Security = security, Username = sink.User, Password = sink.Password,
        FromEmail = "news@shop.example", FromName = "Shop News", MaxConnections = 2, PinnedCertificateSha256 = pin,
    };

    private static OutgoingMessage Email(long id, string to) =>
        new(id, 1, 7, 70, 2000 + id, ChannelNames.Email, to, new RenderedMessage { Subject = "Over TLS", Text = "Encrypted on the wire." });

    [Theory]
    [InlineData("tls", true)]
    [InlineData("starttls", false)]
    public async Task Send_PinnedSelfSignedCertificate_DeliversOverTls(string security, bool implicitTls)
    {
        await using var sink = new SmtpSink("mailer", "s3cret-password", Certificate, implicitTls);
        // Pins are accepted as shown by tools (colon-separated, lower case) as well as bare hex.
        var pin = string.Join(':', Convert.FromHexString(Certificate.GetCertHashString(HashAlgorithmName.SHA256)).Select(b => b.ToString("x2")));
        await using var provider = new SmtpProvider(Settings(sink, security, pin), TimeProvider.System);

        var results = await provider.SendBatchAsync([Email(1, "ana@example.com"), Email(2, "ben@example.com")], default);

        Assert.All(results, r => Assert.True(r.Succeeded, r.ErrorText));
        Assert.Equal(2, sink.Messages.Count);
        Assert.All(sink.Messages, m => Assert.True(m.Secure, "the session ran over TLS"));
        Assert.Equal("Over TLS", sink.Messages.First().Message.Subject);
        Assert.Equal(["mailer"], sink.Logins.Distinct());
    }

    [Theory]
    [InlineData("tls", true, false)]
    [InlineData("starttls", false, false)]
    [InlineData("tls", true, true)]
    [InlineData("starttls", false, true)]
    public async Task Send_UntrustedOrWronglyPinnedCertificate_IsRefusedAndNothingIsSent(string security, bool implicitTls, bool wrongPin)
    {
        await using var sink = new SmtpSink("mailer", "s3cret-password", Certificate, implicitTls);
        var pin = wrongPin ? OtherCertificate.GetCertHashString(HashAlgorithmName.SHA256) : null;
        await using var provider = new SmtpProvider(Settings(sink, security, pin), TimeProvider.System);

        var r = Assert.Single(await provider.SendBatchAsync([Email(3, "ana@example.com")], default));

        Assert.Equal((FailureKind.Transient, "smtp_connect"), (r.Failure, r.ErrorCode));
        Assert.Contains("certificate", r.ErrorText, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(sink.Messages);
        Assert.Empty(sink.Logins); // the password never left the client
    }

    [Fact]
    public async Task ChannelsApi_PinnedCertificate_IsValidatedAndUsedByTestConnection()
    {
        await using var sink = new SmtpSink("mailer", "s3cret-password", Certificate, implicitTls: true);
        var ws = await app.CreateWorkspaceAsync();
        object SettingsBody(string? pin, string security = "tls") => new
        {
            host = "127.0.0.1", port = sink.Port, security, username = "mailer", password = "s3cret-password", fromEmail = "news@shop.example",
            pinnedCertificateSha256 = pin,
        };

        var bad = await (await ws.Client().PostJsonAsync("/api/v1/channels", new { channel = "email", provider = "smtp", name = "Relay", settings = SettingsBody("abc123") }))
            .ExpectAsync(HttpStatusCode.BadRequest);
        Assert.True(bad.GetProperty("errors").TryGetProperty("settings.pinnedCertificateSha256", out _));
        var plain = await (await ws.Client().PostJsonAsync("/api/v1/channels", new
        {
            channel = "email", provider = "smtp", name = "Relay", settings = SettingsBody(Certificate.GetCertHashString(HashAlgorithmName.SHA256), "none"),
        })).ExpectAsync(HttpStatusCode.BadRequest);
        Assert.True(plain.GetProperty("errors").TryGetProperty("settings.pinnedCertificateSha256", out _));

        var unpinned = await (await ws.Client().PostJsonAsync("/api/v1/channels", new { channel = "email", provider = "smtp", name = "Unpinned", settings = SettingsBody(null) }))
            .ExpectAsync(HttpStatusCode.Created);
        var refused = await (await ws.Client().PostAsync($"/api/v1/channels/{unpinned.GetProperty("id").GetString()}/test", null)).ExpectAsync(HttpStatusCode.OK);
        Assert.False(refused.GetProperty("ok").GetBoolean());

        var pinned = await (await ws.Client().PostJsonAsync("/api/v1/channels", new
        {
            channel = "email", provider = "smtp", name = "Pinned", settings = SettingsBody(Certificate.GetCertHashString(HashAlgorithmName.SHA256)),
        })).ExpectAsync(HttpStatusCode.Created);
        var ok = await (await ws.Client().PostAsync($"/api/v1/channels/{pinned.GetProperty("id").GetString()}/test", null)).ExpectAsync(HttpStatusCode.OK);
        Assert.True(ok.GetProperty("ok").GetBoolean(), ok.ToString());
    }
}
