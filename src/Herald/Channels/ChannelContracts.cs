using Herald.Templates;

namespace Herald.Channels;

/// <summary>One rendered message ready for a provider: the unit a delivery worker hands over.</summary>
public sealed record OutgoingMessage(
    long DeliveryId,
    long WorkspaceId,
    long? CampaignId,
    long? RunId,
    long ContactId,
    string Channel,
    /// <summary>Email address, E.164 phone, push subscription endpoint or webhook URL.</summary>
    string Address,
    RenderedMessage Content,
    /// <summary>Test sends (test-send, test-mode journeys) are marked so providers and the outbox can say so.</summary>
    bool Test = false);

/// <summary>
/// What the provider sends, already rendered (Liquid applied, links rewritten). Only the part for the
/// message's channel is set.
/// </summary>
public sealed record RenderedMessage
{
    public string? Subject { get; init; }
    public string? Html { get; init; }
    public string? Text { get; init; }
    /// <summary>SMS body, WhatsApp text body, push body.</summary>
    public string? Body { get; init; }
    public string? Title { get; init; }
    public string? Url { get; init; }
    public string? Icon { get; init; }
    /// <summary>WhatsApp template name, language and rendered body parameters.</summary>
    public string? TemplateName { get; init; }
    public string? Language { get; init; }
    public IReadOnlyList<string>? Parameters { get; init; }
    /// <summary>Header media for WhatsApp / image for push and email hero: absolute URL and type (image | video | document).</summary>
    public string? MediaUrl { get; init; }
    public string? MediaType { get; init; }
    /// <summary>Unsubscribe URL (signed) for List-Unsubscribe and templates.</summary>
    public string? UnsubscribeUrl { get; init; }
    /// <summary>Extra headers (email) or JSON body (webhook).</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }
}

/// <summary>How a failure should be treated.</summary>
public enum FailureKind
{
    None = 0,
    /// <summary>Try again later (timeouts, 429, 5xx, throttling codes).</summary>
    Transient = 1,
    /// <summary>Do not retry (invalid address, unsubscribed at provider, rejected content).</summary>
    Permanent = 2,
}

/// <summary>The outcome of one message of a batch.</summary>
public sealed record SendResult(
    long DeliveryId,
    FailureKind Failure,
    string? ProviderMessageId = null,
    string? ErrorCode = null,
    string? ErrorText = null,
    /// <summary>Provider asked to wait (Retry-After).</summary>
    TimeSpan? RetryAfter = null,
    /// <summary>The address is bad for good (e.g. SMTP 550): add it to the suppression list.</summary>
    bool SuppressAddress = false)
{
    public bool Succeeded => Failure == FailureKind.None;

    public static SendResult Ok(long deliveryId, string? providerMessageId = null) => new(deliveryId, FailureKind.None, providerMessageId);
}

/// <summary>
/// A channel provider (sandbox, smtp, twilio, whatsapp, webpush, webhook). One instance serves one
/// configured channel of one workspace; it is created by <see cref="IChannelProviderFactory"/> from
/// the stored settings and may be cached and reused (it owns pooled connections).
/// </summary>
public interface IChannelProvider : IAsyncDisposable
{
    /// <summary>Provider name: sandbox, smtp, twilio, whatsapp, webpush, webhook.</summary>
    string Name { get; }

    /// <summary>Sends a batch; returns one result per message (any order). Must not throw for per-message failures.</summary>
    Task<IReadOnlyList<SendResult>> SendBatchAsync(IReadOnlyList<OutgoingMessage> batch, CancellationToken ct);
}

/// <summary>Builds providers from stored channel configuration (decrypted settings JSON).</summary>
public interface IChannelProviderFactory
{
    /// <summary>Provider names this factory can build.</summary>
    IReadOnlyCollection<string> Providers { get; }

    IChannelProvider Create(string provider, string channel, string settingsJson);
}

/// <summary>What happens to a delivery whose node died while it was being sent.</summary>
public static class CrashPolicies
{
    /// <summary>Mark it <c>unknown</c> and do not resend (default for sms, whatsapp).</summary>
    public const string AtMostOnce = "at_most_once";
    /// <summary>Resend it (default for email, push, webhook: receivers dedupe on the message id).</summary>
    public const string AtLeastOnce = "at_least_once";

    public static string DefaultFor(string channel) =>
        channel is ChannelNames.Sms or ChannelNames.WhatsApp ? AtMostOnce : AtLeastOnce;
}
