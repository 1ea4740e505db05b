using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Herald.Common;

namespace Herald.Channels.WhatsApp;

/// <summary>Settings of the whatsapp provider (API.md, Channels).</summary>
public sealed class WhatsAppSettings : IProviderSettings
{
    public string? PhoneNumberId { get; set; }
    public string? WabaId { get; set; }
    public string? AccessToken { get; set; }
    /// <summary>Signs webhook POSTs (X-Hub-Signature-256).</summary>
    public string? AppSecret { get; set; }
    /// <summary>Answered on the webhook subscription challenge.</summary>
    public string? VerifyToken { get; set; }
    /// <summary>Graph API version. Default: v21.0.</summary>
    public string? ApiVersion { get; set; }
    /// <summary>Default: https://graph.facebook.com.</summary>
    public string? BaseUrl { get; set; }

    public const string DefaultApiVersion = "v21.0";
    public const string DefaultBaseUrl = "https://graph.facebook.com";

    public string Api => $"{(BaseUrl ?? DefaultBaseUrl).TrimEnd('/')}/{ApiVersion ?? DefaultApiVersion}";

    public Validation Validate()
    {
        var v = new Validation();
        ProviderSettings.Require(v, "settings.phoneNumberId", PhoneNumberId);
        ProviderSettings.Require(v, "settings.wabaId", WabaId);
        ProviderSettings.Require(v, "settings.accessToken", AccessToken);
        ProviderSettings.Require(v, "settings.appSecret", AppSecret);
        ProviderSettings.Require(v, "settings.verifyToken", VerifyToken);
        if (ApiVersion is not null && !System.Text.RegularExpressions.Regex.IsMatch(ApiVersion, @"^v\d+\.\d+$")) v.Add("settings.apiVersion", "Like v21.0.");
        ProviderSettings.RequireUrl(v, "settings.baseUrl", BaseUrl, required: false);
        return v;
    }
}

/// <summary>
/// WhatsApp over Meta's Cloud API: template messages (marketing outside the 24 h window) with
/// body parameters and an optional header media link, media messages, or plain text.
/// </summary>
public sealed class WhatsAppProvider(WhatsAppSettings settings, HttpClient http, TimeProvider clock) : IChannelProvider
{
    /// <summary>Meta error codes that mean "later" (throttling, temporary outage).</summary>
    private static readonly HashSet<int> TransientCodes = [130429, 131056, 80007, 4, 131000, 133004, 2];

    public string Name => WhatsAppChannel.ProviderName;

    public Task<IReadOnlyList<SendResult>> SendBatchAsync(IReadOnlyList<OutgoingMessage> batch, CancellationToken ct) =>
        HttpChannel.SendAllAsync(batch, SendOneAsync, ct);

    private async Task<SendResult> SendOneAsync(OutgoingMessage m, CancellationToken ct)
    {
        using var req = new HttpRequestMessage(HttpMethod.Post, $"{settings.Api}/{Uri.EscapeDataString(settings.PhoneNumberId!)}/messages")
        {
            Content = new StringContent(Payload(m).ToJsonString(), Encoding.UTF8, "application/json"),
        };
        req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", settings.AccessToken);
        using var r = await http.SendAsync(req, ct);
        var body = await r.Content.ReadAsStringAsync(ct);
        if (r.IsSuccessStatusCode)
        {
            string? id = null;
            try
            {
                id = JsonNode.Parse(body)?["messages"]?[0]?["id"]?.GetValue<string>();
            }
            catch (JsonException)
            {
                // Accepted without a parsable id: sent, but receipts cannot be matched.
            }
            return SendResult.Ok(m.DeliveryId, id);
        }
        return Classify(m.DeliveryId, r.StatusCode, body, HttpChannel.RetryAfter(r, clock));
    }

    /// <summary>The Cloud API message object for a rendered message.</summary>
    public static JsonObject Payload(OutgoingMessage m)
    {
        var c = m.Content;
        var to = m.Address.TrimStart('+');
        var o = new JsonObject { ["messaging_product"] = "whatsapp", ["recipient_type"] = "individual", ["to"] = to };
        var mediaType = c.MediaType is "video" or "document" ? c.MediaType : "image";
        if (!string.IsNullOrEmpty(c.TemplateName))
        {
            var components = new JsonArray();
            if (!string.IsNullOrEmpty(c.MediaUrl))
                components.Add(new JsonObject
                {
                    ["type"] = "header",
                    ["parameters"] = new JsonArray(new JsonObject { ["type"] = mediaType, [mediaType] = new JsonObject { ["link"] = c.MediaUrl } }),
                });
            if (c.Parameters is { Count: > 0 } ps)
                components.Add(new JsonObject
                {
                    ["type"] = "body",
                    ["parameters"] = new JsonArray(ps.Select(p => (JsonNode)new JsonObject { ["type"] = "text", ["text"] = p }).ToArray()),
                });
            var template = new JsonObject { ["name"] = c.TemplateName, ["language"] = new JsonObject { ["code"] = c.Language ?? "en_US" } };
            if (components.Count > 0) template["components"] = components;
            o["type"] = "template";
            o["template"] = template;
        }
        else if (!string.IsNullOrEmpty(c.MediaUrl))
        {
            var media = new JsonObject { ["link"] = c.MediaUrl };
            if ((c.Body ?? c.Text) is { } caption) media["caption"] = caption;
            o["type"] = mediaType;
            o[mediaType] = media;
        }
        else
        {
            o["type"] = "text";
            o["text"] = new JsonObject { ["preview_url"] = (c.Body ?? c.Text ?? "").Contains("https://"), ["body"] = c.Body ?? c.Text ?? "" };
        }
        return o;
    }

    /// <summary>From Meta's error body <c>{error:{message, type, code, error_subcode, fbtrace_id}}</c>.</summary>
    public static SendResult Classify(long deliveryId, HttpStatusCode status, string body, TimeSpan? retryAfter)
    {
        int? code = null;
        string? message = null;
        try
        {
            var error = JsonNode.Parse(body)?["error"];
            if (error?["code"] is JsonValue cv && cv.TryGetValue<int>(out var c)) code = c;
            message = error?["message"]?.GetValue<string>();
            if (error?["error_data"]?["details"]?.GetValue<string>() is { } details) message = $"{message} ({details})";
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Not Meta's shape (a proxy or an outage page): the HTTP status decides.
        }
        var kind = code switch
        {
            { } k when TransientCodes.Contains(k) => FailureKind.Transient,
            // 131026: message undeliverable (not on WhatsApp, old app); 132000-132999: template errors.
            131026 or (>= 132000 and < 133000) => FailureKind.Permanent,
            _ => HttpChannel.KindOf(status),
        };
        if (status == HttpStatusCode.TooManyRequests || (int)status >= 500) kind = FailureKind.Transient;
        return new SendResult(deliveryId, kind,
            ErrorCode: code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? $"http_{(int)status}",
            ErrorText: message ?? $"HTTP {(int)status}",
            RetryAfter: kind == FailureKind.Transient ? retryAfter : null);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Factory and API definition of the whatsapp provider (channel whatsapp).</summary>
public sealed class WhatsAppChannel(IHttpClientFactory http, TimeProvider clock) : IChannelProviderFactory, IChannelProviderDefinition
{
    public const string ProviderName = "whatsapp";

    public IReadOnlyCollection<string> Providers { get; } = [ProviderName];
    public string Provider => ProviderName;
    public string Channel => ChannelNames.WhatsApp;
    public IReadOnlyList<string> SecretFields { get; } = ["accessToken", "appSecret", "verifyToken"];

    public IChannelProvider Create(string provider, string channel, string settingsJson) =>
        new WhatsAppProvider(ProviderSettings.Read<WhatsAppSettings>(settingsJson), http.CreateClient(HttpChannel.WhatsApp), clock);

    public string Validate(JsonElement settings) => ProviderSettings.Validate<WhatsAppSettings>(settings);

    /// <summary>Fetches the phone number: proves the id and the token.</summary>
    public async Task<ConnectionCheck> TestAsync(string settingsJson, CancellationToken ct)
    {
        var s = ProviderSettings.Read<WhatsAppSettings>(settingsJson);
        using var req = new HttpRequestMessage(HttpMethod.Get, $"{s.Api}/{Uri.EscapeDataString(s.PhoneNumberId!)}?fields=display_phone_number,verified_name,quality_rating");
        req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", s.AccessToken);
        using var r = await http.CreateClient(HttpChannel.WhatsApp).SendAsync(req, ct);
        var body = await r.Content.ReadAsStringAsync(ct);
        if (!r.IsSuccessStatusCode) return new ConnectionCheck(false, $"Cloud API answered {(int)r.StatusCode}: {body}");
        var number = JsonNode.Parse(body)?["display_phone_number"]?.GetValue<string>();
        return new ConnectionCheck(true, $"Phone number {number ?? s.PhoneNumberId} reachable.");
    }
}
