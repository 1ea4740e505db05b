using Herald.Common;
using MimeKit;
using MimeKit.Cryptography;

namespace Herald.Channels.Smtp;

/// <summary>Settings of the smtp provider (API.md, Channels).</summary>
public sealed class SmtpSettings : IProviderSettings
{
    public string? Host { get; set; }
    /// <summary>Default: 587.</summary>
    public int Port { get; set; } = 587;
    /// <summary><c>none</c>, <c>starttls</c> (default) or <c>tls</c> (TLS from the first byte, port 465).</summary>
    public string Security { get; set; } = "starttls";
    /// <summary>Omit both username and password for servers without authentication.</summary>
    public string? Username { get; set; }
    public string? Password { get; set; }
    public string? FromEmail { get; set; }
    public string? FromName { get; set; }
    public string? ReplyTo { get; set; }
    /// <summary>Open connections the pool may hold. Default: 4.</summary>
    public int? MaxConnections { get; set; }
    public DkimSettings? Dkim { get; set; }
    /// <summary>
    /// SHA-256 fingerprint (hex, colons allowed) of the server's TLS certificate. Unset (default): the
    /// certificate must be valid for <see cref="Host"/> and chain to a trusted root. Set: exactly this
    /// certificate is accepted, whoever issued it (a self-signed relay on the private network), and no other.
    /// Invalid certificates are never accepted otherwise.
    /// </summary>
    public string? PinnedCertificateSha256 { get; set; }

    public const int DefaultMaxConnections = 4;
    public static readonly string[] SecurityModes = ["none", "starttls", "tls"];

    public int Connections => MaxConnections ?? DefaultMaxConnections;

    public string FromDomain => FromEmail![(FromEmail!.LastIndexOf('@') + 1)..];

    /// <summary>The pin as 64 upper-case hex digits, or null.</summary>
    public string? Pin => PinnedCertificateSha256?.Replace(":", "").Replace(" ", "").ToUpperInvariant();

    public Validation Validate()
    {
        var v = new Validation();
        ProviderSettings.Require(v, "settings.host", Host);
        if (Port is < 1 or > 65535) v.Add("settings.port", "Give a port between 1 and 65535.");
        if (!SecurityModes.Contains(Security)) v.Add("settings.security", "Use none, starttls or tls.");
        if (string.IsNullOrEmpty(Username) != string.IsNullOrEmpty(Password)) v.Add("settings.password", "Give both username and password, or neither.");
        if (string.IsNullOrWhiteSpace(FromEmail) || !MailboxAddress.TryParse(FromEmail, out var from) || !from.Address.Contains('@'))
            v.Add("settings.fromEmail", "Give the sender's email address.");
        if (ReplyTo is not null && (!MailboxAddress.TryParse(ReplyTo, out var r) || !r.Address.Contains('@')))
            v.Add("settings.replyTo", "Give an email address.");
        if (MaxConnections is < 1 or > 100) v.Add("settings.maxConnections", "Between 1 and 100.");
        if (Pin is { } pin && (pin.Length != 64 || !pin.All(char.IsAsciiHexDigit)))
            v.Add("settings.pinnedCertificateSha256", "Give the certificate's SHA-256 fingerprint: 64 hex digits.");
        if (Pin is not null && Security == "none") v.Add("settings.pinnedCertificateSha256", "A pinned certificate needs security starttls or tls.");
        if (Dkim is not null)
        {
            ProviderSettings.Require(v, "settings.dkim.domain", Dkim.Domain);
            ProviderSettings.Require(v, "settings.dkim.selector", Dkim.Selector);
            if (string.IsNullOrWhiteSpace(Dkim.PrivateKeyPem)) v.Add("settings.dkim.privateKeyPem", "Required.");
            else if (v.IsValid)
            {
                try { Dkim.CreateSigner(); }
                catch (Exception) { v.Add("settings.dkim.privateKeyPem", "Give an RSA private key in PEM form."); }
            }
        }
        return v;
    }
}

/// <summary>DKIM signing with the key whose public half is published at <c>{selector}._domainkey.{domain}</c>.</summary>
public sealed class DkimSettings
{
    public string? Domain { get; set; }
    public string? Selector { get; set; }
    public string? PrivateKeyPem { get; set; }

    public DkimSigner CreateSigner()
    {
        using var key = new MemoryStream(System.Text.Encoding.ASCII.GetBytes(PrivateKeyPem!));
        return new DkimSigner(key, Domain!, Selector!)
        {
            HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
            BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
            SignatureAlgorithm = DkimSignatureAlgorithm.RsaSha256,
        };
    }
}
