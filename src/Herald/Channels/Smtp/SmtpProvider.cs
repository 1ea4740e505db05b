using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using MailKit;
using MailKit.Net.Smtp;
using MimeKit;
using MimeKit.Cryptography;

namespace Herald.Channels.Smtp;

/// <summary>
/// Sends email over SMTP through a <see cref="SmtpConnectionPool"/>: a batch is spread over the
/// pool's connections, each sending its share one message after another.
/// </summary>
public sealed class SmtpProvider : IChannelProvider
{
    /// <summary>Headers the provider sets itself; a template cannot override them.</summary>
    private static readonly HashSet<string> ReservedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "From", "To", "Cc", "Bcc", "Subject", "Message-ID", "Date", "Reply-To", "List-Unsubscribe", "List-Unsubscribe-Post",
        "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "DKIM-Signature",
    };

    private static readonly HeaderId[] SignedHeaders =
        [HeaderId.From, HeaderId.To, HeaderId.Subject, HeaderId.Date, HeaderId.MessageId, HeaderId.ReplyTo, HeaderId.ListUnsubscribe, HeaderId.ListUnsubscribePost];

    private readonly SmtpSettings _settings;
    private readonly TimeProvider _clock;
    private readonly MailboxAddress _from;
    private readonly MailboxAddress? _replyTo;
    private readonly DkimSigner? _dkim;
    private readonly string _fromDomain;
    private readonly string _idPrefix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
    private long _idCounter;
    private readonly string _boundary = EncodedBody.NewBoundary();

    public SmtpProvider(SmtpSettings settings, TimeProvider clock)
    {
        _settings = settings;
        _clock = clock;
        _from = new MailboxAddress(settings.FromName ?? "", settings.FromEmail!);
        _replyTo = settings.ReplyTo is null ? null : MailboxAddress.Parse(settings.ReplyTo);
        _dkim = settings.Dkim?.CreateSigner();
        _fromDomain = settings.FromDomain;
        Pool = new SmtpConnectionPool(settings, clock);
    }

    public string Name => SmtpChannel.ProviderName;

    public SmtpConnectionPool Pool { get; }

    public async Task<IReadOnlyList<SendResult>> SendBatchAsync(IReadOnlyList<OutgoingMessage> batch, CancellationToken ct)
    {
        var results = new SendResult[batch.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, batch.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Pool.MaxConnections, CancellationToken = ct },
            async (i, token) => results[i] = await SendOneAsync(batch[i], token));
        return results;
    }

    public async Task<SendResult> SendOneAsync(OutgoingMessage message, CancellationToken ct)
    {
        MimeMessage mime;
        try
        {
            mime = Build(message);
        }
        catch (ParseException e)
        {
            return new SendResult(message.DeliveryId, FailureKind.Permanent, ErrorCode: "invalid_address", ErrorText: e.Message);
        }
        var messageId = mime.MessageId;

        // One retry, only when a pooled connection turned out dead (the server closed it while idle):
        // the message never reached DATA on it, so resending cannot duplicate it.
        for (var attempt = 0; ; attempt++)
        {
            SmtpConnectionPool.Lease lease;
            try
            {
                lease = await Pool.RentAsync(ct);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                return ConnectFailure(message.DeliveryId, e);
            }
            try
            {
                await lease.Client.SendAsync(mime, ct);
                Pool.Return(lease);
                return SendResult.Ok(message.DeliveryId, messageId);
            }
            catch (SmtpCommandException e)
            {
                // The server answered; MailKit has reset the transaction and the connection stays usable.
                Pool.Return(lease);
                return Classify(message.DeliveryId, e);
            }
            catch (Exception e) when (e is SmtpProtocolException or ServiceNotConnectedException or IOException or SocketException
                                      or TimeoutException || (e is OperationCanceledException && !ct.IsCancellationRequested))
            {
                Pool.Discard(lease);
                if (attempt == 0 && lease.Reused && e is not OperationCanceledException and not TimeoutException) continue;
                return new SendResult(message.DeliveryId, FailureKind.Transient, ErrorCode: "smtp_connection", ErrorText: e.Message);
            }
            catch
            {
                Pool.Discard(lease);
                throw;
            }
        }
    }

    /// <summary>SMTP replies: 4xx try again, 5xx give up; 550/551/553 on a recipient means the mailbox does not exist.</summary>
    public static SendResult Classify(long deliveryId, SmtpCommandException e)
    {
        var code = (int)e.StatusCode;
        var text = $"{code} {e.Message}".Trim();
        if (code is >= 400 and < 500)
            return new SendResult(deliveryId, FailureKind.Transient, ErrorCode: $"smtp_{code}", ErrorText: text);
        var suppress = e.ErrorCode == SmtpErrorCode.RecipientNotAccepted && code is 550 or 551 or 553;
        return new SendResult(deliveryId, FailureKind.Permanent, ErrorCode: $"smtp_{code}", ErrorText: text, SuppressAddress: suppress);
    }

    private static SendResult ConnectFailure(long deliveryId, Exception e) => e switch
    {
        MailKit.Security.AuthenticationException => new SendResult(deliveryId, FailureKind.Transient, ErrorCode: "smtp_auth", ErrorText: e.Message),
        SmtpCommandException c => Classify(deliveryId, c) with { Failure = FailureKind.Transient, SuppressAddress = false },
        _ => new SendResult(deliveryId, FailureKind.Transient, ErrorCode: "smtp_connect", ErrorText: e.Message),
    };

    /// <summary>The MIME message of a delivery: multipart/alternative text + HTML, RFC 8058 unsubscribe headers, a Message-ID naming the delivery, DKIM when configured.</summary>
    public MimeMessage Build(OutgoingMessage message)
    {
        var c = message.Content;
        // Not new MimeMessage(): it generates a Message-ID from the host's domain name, which we replace
        // anyway; measured 4x the cost of the whole empty message.
        var mime = new MimeMessage((IEnumerable<Header>)[new Header(HeaderId.MimeVersion, "1.0")]);
        mime.From.Add(_from);
        mime.To.Add(MailboxAddress.Parse(message.Address));
        if (_replyTo is not null) mime.ReplyTo.Add(_replyTo);
        mime.Subject = c.Subject ?? "";
        mime.Date = _clock.GetUtcNow();
        // The delivery id in the Message-ID lets bounces and replies be traced to their delivery.
        // The suffix keeps ids unique across resends of one delivery: a random per-provider part and a counter.
        mime.MessageId = $"d{message.DeliveryId}.{_idPrefix}{Interlocked.Increment(ref _idCounter):x}@{_fromDomain}";

        var text = c.Text ?? (c.Html is not null ? HtmlToText.Convert(c.Html) : c.Body ?? "");
        // Encoded straight to wire bytes (7bit or quoted-printable), not a TextPart tree that MailKit
        // prepares and formats again per message: measured about a third of the client's CPU a message.
        mime.Body = c.Html is not null ? EncodedBody.Alternative(text, c.Html, _boundary) : EncodedBody.Text(text);

        if (c.UnsubscribeUrl is not null)
        {
            var mailbox = _replyTo?.Address ?? _settings.FromEmail;
            mime.Headers.Add(HeaderId.ListUnsubscribe, $"<mailto:{mailbox}?subject=unsubscribe%20d{message.DeliveryId}>, <{c.UnsubscribeUrl}>");
            mime.Headers.Add(HeaderId.ListUnsubscribePost, "List-Unsubscribe=One-Click");
        }
        if (c.Headers is not null)
            foreach (var (name, value) in c.Headers)
                if (!ReservedHeaders.Contains(name)) mime.Headers.Add(name, value);
        if (message.Test) mime.Headers.Add("X-Herald-Test", "true");

        if (_dkim is not null)
        {
            // The body is 7-bit clean already (EncodedBody), so no relay re-encodes it and breaks the body
            // hash; the signer hashes the same bytes MailKit then sends.
            _dkim.Sign(mime, SignedHeaders.Where(h => mime.Headers.Contains(h)).ToArray());
        }
        return mime;
    }

    public ValueTask DisposeAsync() => Pool.DisposeAsync();
}

/// <summary>Factory and API definition of the smtp provider (channel email).</summary>
public sealed class SmtpChannel(TimeProvider clock) : IChannelProviderFactory, IChannelProviderDefinition
{
    public const string ProviderName = "smtp";

    public IReadOnlyCollection<string> Providers { get; } = [ProviderName];
    public string Provider => ProviderName;
    public string Channel => ChannelNames.Email;
    public IReadOnlyList<string> SecretFields { get; } = ["password", "dkim.privateKeyPem"];

    public IChannelProvider Create(string provider, string channel, string settingsJson) =>
        new SmtpProvider(ProviderSettings.Read<SmtpSettings>(settingsJson), clock);

    public string Validate(JsonElement settings) => ProviderSettings.Validate<SmtpSettings>(settings);

    /// <summary>Connect, authenticate and NOOP.</summary>
    public async Task<ConnectionCheck> TestAsync(string settingsJson, CancellationToken ct)
    {
        var s = ProviderSettings.Read<SmtpSettings>(settingsJson);
        try
        {
            using var client = await SmtpConnectionPool.ConnectAsync(s, ct);
            await client.NoOpAsync(ct);
            await client.DisconnectAsync(true, ct);
            return new ConnectionCheck(true, $"Connected to {s.Host}:{s.Port}" + (string.IsNullOrEmpty(s.Username) ? "." : $" and authenticated as {s.Username}."));
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return new ConnectionCheck(false, $"{s.Host}:{s.Port}: {e.Message}");
        }
    }
}
