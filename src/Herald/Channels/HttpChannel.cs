using System.Net;

namespace Herald.Channels;

/// <summary>Named HTTP clients and shared rules of the HTTP providers (twilio, whatsapp, webpush, webhook).</summary>
public static class HttpChannel
{
    public const string Twilio = "herald.channel.twilio";
    public const string WhatsApp = "herald.channel.whatsapp";
    public const string WebPush = "herald.channel.webpush";
    public const string Webhook = "herald.channel.webhook";

    /// <summary>Per-request timeout of provider calls. Default: 15 s (a slow provider is retried, not waited on).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    /// <summary>Messages of one batch in flight at once per provider instance. Default: 16.</summary>
    public const int Concurrency = 16;

    /// <summary>Retry-After as a delay (seconds or an HTTP date).</summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage r, TimeProvider clock)
    {
        var h = r.Headers.RetryAfter;
        if (h?.Delta is { } d) return d;
        if (h?.Date is { } date) return date - clock.GetUtcNow() is { } wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        return null;
    }

    /// <summary>HTTP status alone: 429 and 5xx (and 408) try again; other 4xx give up.</summary>
    public static FailureKind KindOf(HttpStatusCode status) =>
        (int)status is 408 or 429 or >= 500 ? FailureKind.Transient : FailureKind.Permanent;

    /// <summary>Runs <paramref name="send"/> for every message with bounded concurrency, one result per message.</summary>
    public static async Task<IReadOnlyList<SendResult>> SendAllAsync(IReadOnlyList<OutgoingMessage> batch, Func<OutgoingMessage, CancellationToken, Task<SendResult>> send,
        CancellationToken ct, int concurrency = Concurrency)
    {
        var results = new SendResult[batch.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, batch.Count),
            new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = ct },
            async (i, token) =>
            {
                try
                {
                    results[i] = await send(batch[i], token);
                }
                catch (Exception e) when (e is HttpRequestException or IOException || (e is OperationCanceledException or TimeoutException && !token.IsCancellationRequested))
                {
                    // No answer (refused, reset, timed out): the message may or may not have arrived.
                    results[i] = new SendResult(batch[i].DeliveryId, FailureKind.Transient, ErrorCode: e is HttpRequestException ? "connection" : "timeout", ErrorText: e.Message);
                }
            });
        return results;
    }
}
