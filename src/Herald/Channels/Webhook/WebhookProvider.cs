using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Herald.Common;

namespace Herald.Channels.Webhook;

/// <summary>Settings of the webhook provider (API.md, Channels).</summary>
public sealed class WebhookSettings : IProviderSettings
{
    public string? Url { get; set; }
    /// <summary>Key of the X-Herald-Signature HMAC.</summary>
    public string? Secret { get; set; }
    /// <summary>Extra headers sent with every POST (e.g. an API key of the receiver).</summary>
    public Dictionary<string, string>? Headers { get; set; }

    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
        { "Content-Type", "Content-Length", "Host", WebhookSignature.MessageIdHeader, WebhookSignature.SignatureHeader };

    public Validation Validate()
    {
        var v = new Validation();
        ProviderSettings.RequireUrl(v, "settings.url", Url);
        if (string.IsNullOrEmpty(Secret) || Secret.Length < 16) v.Add("settings.secret", "Give a secret of at least 16 characters.");
        foreach (var (name, _) in Headers ?? [])
        {
            if (Reserved.Contains(name)) v.Add($"settings.headers.{name}", "Herald sets this header itself.");
            else if (name.Length == 0 || name.Any(ch => ch <= ' ' || ch == ':' || ch > '~')) v.Add($"settings.headers.{name}", "Not a valid header name.");
        }
        return v;
    }
}

/// <summary>
/// The signature receivers check: <c>X-Herald-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256 of "t.body"&gt;</c>.
/// The timestamp inside the signed text lets receivers refuse replays older than a few minutes.
/// </summary>
public static class WebhookSignature
{
    public const string SignatureHeader = "X-Herald-Signature";
    public const string MessageIdHeader = "X-Message-Id";

    public static string Sign(string secret, long unixSeconds, string body)
    {
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{unixSeconds}.{body}"));
        return $"t={unixSeconds},v1={Convert.ToHexStringLower(mac)}";
    }

    /// <summary>Checks a signature header as a receiver would: right key, and not older than <paramref name="tolerance"/>.</summary>
    public static bool Verify(string secret, string? header, string body, DateTimeOffset now, TimeSpan tolerance)
    {
        if (header is null) return false;
        long? t = null;
        string? v1 = null;
        foreach (var part in header.Split(','))
        {
            var kv = part.Split('=', 2);
            if (kv.Length != 2) continue;
            if (kv[0].Trim() == "t" && long.TryParse(kv[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ts)) t = ts;
            if (kv[0].Trim() == "v1") v1 = kv[1].Trim();
        }
        if (t is null || v1 is null) return false;
        if (Math.Abs(now.ToUnixTimeSeconds() - t.Value) > tolerance.TotalSeconds) return false;
        var expected = Sign(secret, t.Value, body);
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes($"t={t},v1={v1}"));
    }
}

/// <summary>
/// Signed JSON POSTs to a URL. The body is the rendered webhook content when it is JSON; otherwise an
/// envelope with the message fields. 2xx is sent; 429, 5xx and timeouts retry; other 4xx give up.
/// </summary>
public sealed class WebhookProvider(WebhookSettings settings, HttpClient http, TimeProvider clock) : IChannelProvider
{
    public string Name => WebhookChannel.ProviderName;

    public Task<IReadOnlyList<SendResult>> SendBatchAsync(IReadOnlyList<OutgoingMessage> batch, CancellationToken ct) =>
        HttpChannel.SendAllAsync(batch, SendOneAsync, ct);

    private async Task<SendResult> SendOneAsync(OutgoingMessage m, CancellationToken ct)
    {
        var body = Body(m);
        using var req = new HttpRequestMessage(HttpMethod.Post, settings.Url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        var id = m.DeliveryId.ToString(CultureInfo.InvariantCulture);
        req.Headers.TryAddWithoutValidation(WebhookSignature.MessageIdHeader, id);
        req.Headers.TryAddWithoutValidation(WebhookSignature.SignatureHeader, WebhookSignature.Sign(settings.Secret!, clock.GetUtcNow().ToUnixTimeSeconds(), body));
        foreach (var (name, value) in settings.Headers ?? []) req.Headers.TryAddWithoutValidation(name, value);
        using var r = await http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, ct);
        if (r.IsSuccessStatusCode) return SendResult.Ok(m.DeliveryId, id);
        var text = await ReadSomeAsync(r, ct);
        var kind = HttpChannel.KindOf(r.StatusCode);
        return new SendResult(m.DeliveryId, kind, ErrorCode: $"http_{(int)r.StatusCode}", ErrorText: text,
            RetryAfter: kind == FailureKind.Transient ? HttpChannel.RetryAfter(r, clock) : null);
    }

    /// <summary>The rendered JSON body, or an envelope when the content is not JSON.</summary>
    public static string Body(OutgoingMessage m)
    {
        var c = m.Content;
        if (c.Body is { } b && b.TrimStart().StartsWith('{'))
        {
            try
            {
                using var _ = JsonDocument.Parse(b);
                return b;
            }
            catch (JsonException)
            {
                // Fall through to the envelope so the receiver still gets valid JSON.
            }
        }
        var o = new JsonObject
        {
            ["deliveryId"] = m.DeliveryId,
            ["contactId"] = m.ContactId,
            ["campaignId"] = m.CampaignId,
            ["runId"] = m.RunId,
            ["test"] = m.Test,
        };
        if (c.Body is not null) o["body"] = c.Body;
        if (c.Title is not null) o["title"] = c.Title;
        if (c.Url is not null) o["url"] = c.Url;
        if (c.Headers is not null) o["data"] = new JsonObject(c.Headers.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
        return o.ToJsonString();
    }

    private static async Task<string> ReadSomeAsync(HttpResponseMessage r, CancellationToken ct)
    {
        var text = await r.Content.ReadAsStringAsync(ct);
        return $"HTTP {(int)r.StatusCode}: {(text.Length > 500 ? text[..500] : text)}";
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Factory and API definition of the webhook provider (channel webhook).</summary>
public sealed class WebhookChannel(IHttpClientFactory http, TimeProvider clock) : IChannelProviderFactory, IChannelProviderDefinition
{
    public const string ProviderName = "webhook";

    public IReadOnlyCollection<string> Providers { get; } = [ProviderName];
    public string Provider => ProviderName;
    public string Channel => ChannelNames.Webhook;
    public IReadOnlyList<string> SecretFields { get; } = ["secret"];

    public IChannelProvider Create(string provider, string channel, string settingsJson) =>
        new WebhookProvider(ProviderSettings.Read<WebhookSettings>(settingsJson), http.CreateClient(HttpChannel.Webhook), clock);

    public string Validate(JsonElement settings) => ProviderSettings.Validate<WebhookSettings>(settings);

    /// <summary>A signed ping (<c>{"type":"ping"}</c>) POSTed to the URL; any 2xx passes.</summary>
    public async Task<ConnectionCheck> TestAsync(string settingsJson, CancellationToken ct)
    {
        var s = ProviderSettings.Read<WebhookSettings>(settingsJson);
        const string body = """{"type":"ping"}""";
        using var req = new HttpRequestMessage(HttpMethod.Post, s.Url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        req.Headers.TryAddWithoutValidation(WebhookSignature.MessageIdHeader, "ping");
        req.Headers.TryAddWithoutValidation(WebhookSignature.SignatureHeader, WebhookSignature.Sign(s.Secret!, clock.GetUtcNow().ToUnixTimeSeconds(), body));
        foreach (var (name, value) in s.Headers ?? []) req.Headers.TryAddWithoutValidation(name, value);
        using var r = await http.CreateClient(HttpChannel.Webhook).SendAsync(req, ct);
        return r.IsSuccessStatusCode
            ? new ConnectionCheck(true, $"{s.Url} answered {(int)r.StatusCode}.")
            : new ConnectionCheck(false, $"{s.Url} answered {(int)r.StatusCode}.");
    }
}
