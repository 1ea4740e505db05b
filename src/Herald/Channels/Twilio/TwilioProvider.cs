using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Herald.Common;
using Herald.Hosting;
using Microsoft.Extensions.Options;

namespace Herald.Channels.Twilio;

/// <summary>Settings of the twilio provider (API.md, Channels).</summary>
public sealed class TwilioSettings : IProviderSettings
{
    public string? AccountSid { get; set; }
    public string? AuthToken { get; set; }
    /// <summary>Sender number (E.164) or alphanumeric id; or give <see cref="MessagingServiceSid"/>.</summary>
    public string? From { get; set; }
    public string? MessagingServiceSid { get; set; }
    /// <summary>Default: https://api.twilio.com (tests point it at a local server).</summary>
    public string? BaseUrl { get; set; }

    public const string DefaultBaseUrl = "https://api.twilio.com";

    public string Api => (BaseUrl ?? DefaultBaseUrl).TrimEnd('/');

    public Validation Validate()
    {
        var v = new Validation();
        if (string.IsNullOrWhiteSpace(AccountSid) || !AccountSid.StartsWith("AC", StringComparison.Ordinal)) v.Add("settings.accountSid", "Give the account SID (AC...).");
        ProviderSettings.Require(v, "settings.authToken", AuthToken);
        if (string.IsNullOrWhiteSpace(From) == string.IsNullOrWhiteSpace(MessagingServiceSid)) v.Add("settings.from", "Give either from or messagingServiceSid.");
        ProviderSettings.RequireUrl(v, "settings.baseUrl", BaseUrl, required: false);
        return v;
    }

    public AuthenticationHeaderValue Authorization =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{AccountSid}:{AuthToken}")));
}

/// <summary>
/// SMS over Twilio's Messages API: one form-encoded POST per message with a status callback URL,
/// so delivery receipts come back to <c>/webhooks/twilio/status</c>.
/// </summary>
public sealed class TwilioProvider(TwilioSettings settings, HttpClient http, string statusCallbackUrl, TimeProvider clock) : IChannelProvider
{
    /// <summary>Twilio error codes that will not succeed on retry.</summary>
    private static readonly HashSet<int> PermanentCodes =
    [
        21211, // invalid 'To' number
        21408, // permission to send to this region not enabled
        21610, // recipient replied STOP
        21612, // 'To' not reachable via this 'From'
        21614, // 'To' is not a mobile number
        21617, // body too long
        30003, 30005, 30006, // unreachable, unknown destination, landline
    ];

    /// <summary>Twilio error codes that mean "later": rate limits and queue overflow.</summary>
    private static readonly HashSet<int> TransientCodes = [20429, 30001, 20500, 20503];

    public string Name => TwilioChannel.ProviderName;

    public Task<IReadOnlyList<SendResult>> SendBatchAsync(IReadOnlyList<OutgoingMessage> batch, CancellationToken ct) =>
        HttpChannel.SendAllAsync(batch, SendOneAsync, ct);

    private async Task<SendResult> SendOneAsync(OutgoingMessage m, CancellationToken ct)
    {
        var form = new List<KeyValuePair<string, string>> { new("To", m.Address) };
        form.Add(string.IsNullOrEmpty(settings.MessagingServiceSid) ? new("From", settings.From!) : new("MessagingServiceSid", settings.MessagingServiceSid));
        form.Add(new("Body", m.Content.Body ?? m.Content.Text ?? ""));
        if (!string.IsNullOrEmpty(m.Content.MediaUrl)) form.Add(new("MediaUrl", m.Content.MediaUrl));
        form.Add(new("StatusCallback", statusCallbackUrl));

        using var req = new HttpRequestMessage(HttpMethod.Post, $"{settings.Api}/2010-04-01/Accounts/{Uri.EscapeDataString(settings.AccountSid!)}/Messages.json")
        {
            Content = new FormUrlEncodedContent(form),
        };
        req.Headers.Authorization = settings.Authorization;
        using var r = await http.SendAsync(req, ct);
        var body = await r.Content.ReadAsStringAsync(ct);
        if (r.IsSuccessStatusCode)
        {
            var sid = TryRead(body, "sid");
            return SendResult.Ok(m.DeliveryId, sid);
        }
        return Classify(m.DeliveryId, r.StatusCode, body, HttpChannel.RetryAfter(r, clock));
    }

    /// <summary>From Twilio's error body <c>{code, message, more_info, status}</c>; the HTTP status decides unknown codes.</summary>
    public static SendResult Classify(long deliveryId, HttpStatusCode status, string body, TimeSpan? retryAfter)
    {
        int? code = null;
        string? message = null;
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.Number) code = c.GetInt32();
            if (doc.RootElement.TryGetProperty("message", out var msg) && msg.ValueKind == JsonValueKind.String) message = msg.GetString();
        }
        catch (JsonException)
        {
            // Proxies and outages answer HTML; the HTTP status is all there is.
        }
        var kind = code switch
        {
            { } k when TransientCodes.Contains(k) => FailureKind.Transient,
            { } k when PermanentCodes.Contains(k) => FailureKind.Permanent,
            _ => HttpChannel.KindOf(status),
        };
        if (status == HttpStatusCode.TooManyRequests || (int)status >= 500) kind = FailureKind.Transient;
        return new SendResult(deliveryId, kind,
            ErrorCode: code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? $"http_{(int)status}",
            ErrorText: message ?? $"HTTP {(int)status}",
            RetryAfter: kind == FailureKind.Transient ? retryAfter : null,
            SuppressAddress: code == 21610);
    }

    private static string? TryRead(string json, string property)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.TryGetProperty(property, out var p) ? p.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Factory and API definition of the twilio provider (channel sms).</summary>
public sealed class TwilioChannel(IHttpClientFactory http, IOptions<HeraldOptions> options, TimeProvider clock) : IChannelProviderFactory, IChannelProviderDefinition
{
    public const string ProviderName = "twilio";
    public const string StatusPath = "/webhooks/twilio/status";
    public const string InboundPath = "/webhooks/twilio/inbound";

    public IReadOnlyCollection<string> Providers { get; } = [ProviderName];
    public string Provider => ProviderName;
    public string Channel => ChannelNames.Sms;
    public IReadOnlyList<string> SecretFields { get; } = ["authToken"];

    public IChannelProvider Create(string provider, string channel, string settingsJson) =>
        new TwilioProvider(ProviderSettings.Read<TwilioSettings>(settingsJson), http.CreateClient(HttpChannel.Twilio),
            options.Value.PublicBaseUrl.TrimEnd('/') + StatusPath, clock);

    public string Validate(JsonElement settings) => ProviderSettings.Validate<TwilioSettings>(settings);

    /// <summary>Fetches the account: proves the SID and token.</summary>
    public async Task<ConnectionCheck> TestAsync(string settingsJson, CancellationToken ct)
    {
        var s = ProviderSettings.Read<TwilioSettings>(settingsJson);
        using var req = new HttpRequestMessage(HttpMethod.Get, $"{s.Api}/2010-04-01/Accounts/{Uri.EscapeDataString(s.AccountSid!)}.json");
        req.Headers.Authorization = s.Authorization;
        using var r = await http.CreateClient(HttpChannel.Twilio).SendAsync(req, ct);
        return r.IsSuccessStatusCode
            ? new ConnectionCheck(true, $"Account {s.AccountSid} reachable.")
            : new ConnectionCheck(false, $"Twilio answered {(int)r.StatusCode}: {await r.Content.ReadAsStringAsync(ct)}");
    }
}
