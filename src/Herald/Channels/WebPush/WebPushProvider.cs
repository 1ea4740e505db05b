using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Herald.Common;
using Herald.Storage;
using Lib.Net.Http.WebPush;
using Lib.Net.Http.WebPush.Authentication;
using Microsoft.EntityFrameworkCore;

namespace Herald.Channels.WebPush;

/// <summary>Settings of the webpush provider (API.md, Channels): the VAPID identity of the sender.</summary>
public sealed class WebPushSettings : IProviderSettings
{
    /// <summary><c>mailto:</c> or <c>https:</c> contact of the sender, shown to push services.</summary>
    public string? VapidSubject { get; set; }
    /// <summary>P-256 public key, uncompressed point, base64url (what the page passes as applicationServerKey).</summary>
    public string? VapidPublicKey { get; set; }
    /// <summary>P-256 private key (32 bytes), base64url.</summary>
    public string? VapidPrivateKey { get; set; }

    public Validation Validate()
    {
        var v = new Validation();
        if (string.IsNullOrWhiteSpace(VapidSubject) || !(VapidSubject.StartsWith("mailto:", StringComparison.Ordinal) || VapidSubject.StartsWith("https://", StringComparison.Ordinal)))
            v.Add("settings.vapidSubject", "Give a mailto: or https: URL.");
        if (!IsKey(VapidPublicKey, 65)) v.Add("settings.vapidPublicKey", "Give the P-256 public key (65 bytes, base64url).");
        if (!IsKey(VapidPrivateKey, 32)) v.Add("settings.vapidPrivateKey", "Give the P-256 private key (32 bytes, base64url).");
        return v;
    }

    internal static bool IsKey(string? value, int bytes)
    {
        if (string.IsNullOrWhiteSpace(value)) return false;
        try
        {
            return System.Buffers.Text.Base64Url.DecodeFromChars(value.TrimEnd('=')).Length == bytes;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}

/// <summary>
/// Web push with VAPID through Lib.Net.Http.WebPush. The message address is a subscription endpoint
/// (or, when it is not a URL, the contact's subscriptions are used); the browser keys come from
/// <see cref="PushSubscription"/>. A push service answering 404/410 has dropped the subscription:
/// it is deleted and the message fails for good.
/// </summary>
public sealed class WebPushProvider(WebPushSettings settings, HttpClient http, IServiceScopeFactory scopes, TimeProvider clock) : IChannelProvider
{
    private readonly PushServiceClient _client = new(http)
    {
        DefaultAuthentication = new VapidAuthentication(settings.VapidPublicKey, settings.VapidPrivateKey) { Subject = settings.VapidSubject },
        // Herald's retry policy decides (with backoff across the whole run), not the client in-line.
        AutoRetryAfter = false,
        DefaultTimeToLive = (int)TimeSpan.FromDays(1).TotalSeconds,
    };

    public string Name => WebPushChannel.ProviderName;

    public async Task<IReadOnlyList<SendResult>> SendBatchAsync(IReadOnlyList<OutgoingMessage> batch, CancellationToken ct)
    {
        if (batch.Count == 0) return [];
        var subs = await LoadSubscriptionsAsync(batch, ct);
        var gone = new System.Collections.Concurrent.ConcurrentBag<long>();
        var delivered = new System.Collections.Concurrent.ConcurrentBag<long>();
        var results = await HttpChannel.SendAllAsync(batch, async (m, token) =>
        {
            var targets = Targets(m, subs);
            if (targets.Count == 0)
                return new SendResult(m.DeliveryId, FailureKind.Permanent, ErrorCode: "no_subscription", ErrorText: "The contact has no push subscription for this address.");
            SendResult? failure = null;
            string? okEndpoint = null;
            foreach (var s in targets)
            {
                var r = await SendToAsync(m, s, token);
                if (r.Succeeded) { okEndpoint ??= s.Endpoint; delivered.Add(s.Id); continue; }
                if (r.ErrorCode is "http_404" or "http_410") gone.Add(s.Id);
                failure ??= r;
            }
            return okEndpoint is not null ? SendResult.Ok(m.DeliveryId, okEndpoint) : failure!;
        }, ct);
        await RecordAsync(gone, delivered, ct);
        return results;
    }

    private static List<PushSubscription> Targets(OutgoingMessage m, IReadOnlyList<PushSubscription> subs) =>
        IsEndpoint(m.Address)
            ? subs.Where(s => s.WorkspaceId == m.WorkspaceId && s.Endpoint == m.Address).ToList()
            : subs.Where(s => s.WorkspaceId == m.WorkspaceId && s.ContactId == m.ContactId).ToList();

    /// <summary>An https (or, for local push services, http) endpoint; anything else means "the contact's subscriptions".</summary>
    private static bool IsEndpoint(string address) =>
        Uri.TryCreate(address, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttps || u.Scheme == Uri.UriSchemeHttp);

    private async Task<SendResult> SendToAsync(OutgoingMessage m, PushSubscription s, CancellationToken ct)
    {
        var subscription = new Lib.Net.Http.WebPush.PushSubscription { Endpoint = s.Endpoint };
        subscription.SetKey(PushEncryptionKeyName.P256DH, s.P256dh);
        subscription.SetKey(PushEncryptionKeyName.Auth, s.Auth);
        try
        {
            await _client.RequestPushMessageDeliveryAsync(subscription, new PushMessage(Payload(m)) { Urgency = PushMessageUrgency.Normal }, ct);
            return SendResult.Ok(m.DeliveryId, s.Endpoint);
        }
        catch (PushServiceClientException e)
        {
            var kind = HttpChannel.KindOf(e.StatusCode);
            TimeSpan? retry = e.Headers?.RetryAfter?.Delta;
            return new SendResult(m.DeliveryId, kind, ErrorCode: $"http_{(int)e.StatusCode}", ErrorText: $"{e.Message} {e.Body}".Trim(),
                RetryAfter: kind == FailureKind.Transient ? retry : null);
        }
    }

    /// <summary>What the service worker receives: the notification fields and the delivery id (for click tracking).</summary>
    public static string Payload(OutgoingMessage m)
    {
        var c = m.Content;
        var o = new JsonObject { ["title"] = c.Title ?? c.Subject ?? "", ["body"] = c.Body ?? c.Text ?? "", ["deliveryId"] = m.DeliveryId.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (c.Url is not null) o["url"] = c.Url;
        if (c.Icon is not null) o["icon"] = c.Icon;
        if (c.MediaUrl is not null) o["image"] = c.MediaUrl;
        return o.ToJsonString();
    }

    /// <summary>All subscriptions the batch needs, in one query by endpoint and one by contact.</summary>
    private async Task<IReadOnlyList<PushSubscription>> LoadSubscriptionsAsync(IReadOnlyList<OutgoingMessage> batch, CancellationToken ct)
    {
        var endpoints = batch.Where(m => IsEndpoint(m.Address)).Select(m => m.Address).Distinct().ToList();
        var contacts = batch.Where(m => !IsEndpoint(m.Address)).Select(m => m.ContactId).Distinct().ToList();
        var workspaces = batch.Select(m => m.WorkspaceId).Distinct().ToList();
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
        var q = db.Set<PushSubscription>().AsNoTracking().Where(s => workspaces.Contains(s.WorkspaceId));
        var list = endpoints.Count > 0 ? await q.Where(s => endpoints.Contains(s.Endpoint)).ToListAsync(ct) : [];
        if (contacts.Count > 0) list.AddRange(await q.Where(s => contacts.Contains(s.ContactId)).ToListAsync(ct));
        return list;
    }

    private async Task RecordAsync(IEnumerable<long> gone, IEnumerable<long> delivered, CancellationToken ct)
    {
        var goneIds = gone.Distinct().ToList();
        var okIds = delivered.Distinct().ToList();
        if (goneIds.Count == 0 && okIds.Count == 0) return;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
        if (goneIds.Count > 0) await db.Set<PushSubscription>().Where(s => goneIds.Contains(s.Id)).ExecuteDeleteAsync(ct);
        var now = clock.GetUtcNow().UtcDateTime;
        if (okIds.Count > 0) await db.Set<PushSubscription>().Where(s => okIds.Contains(s.Id)).ExecuteUpdateAsync(u => u.SetProperty(s => s.LastSuccessAt, now), ct);
    }

    public ValueTask DisposeAsync()
    {
        _client.DefaultAuthentication?.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Factory and API definition of the webpush provider (channel push).</summary>
public sealed class WebPushChannel(IHttpClientFactory http, IServiceScopeFactory scopes, TimeProvider clock) : IChannelProviderFactory, IChannelProviderDefinition
{
    public const string ProviderName = "webpush";

    public IReadOnlyCollection<string> Providers { get; } = [ProviderName];
    public string Provider => ProviderName;
    public string Channel => ChannelNames.Push;
    public IReadOnlyList<string> SecretFields { get; } = ["vapidPrivateKey"];

    public IChannelProvider Create(string provider, string channel, string settingsJson) =>
        new WebPushProvider(ProviderSettings.Read<WebPushSettings>(settingsJson), http.CreateClient(HttpChannel.WebPush), scopes, clock);

    public string Validate(JsonElement settings) => ProviderSettings.Validate<WebPushSettings>(settings);

    /// <summary>Push services have no account to probe: checks the VAPID key pair signs a token.</summary>
    public Task<ConnectionCheck> TestAsync(string settingsJson, CancellationToken ct)
    {
        var s = ProviderSettings.Read<WebPushSettings>(settingsJson);
        try
        {
            using var vapid = new VapidAuthentication(s.VapidPublicKey, s.VapidPrivateKey) { Subject = s.VapidSubject };
            var header = vapid.GetVapidSchemeAuthenticationHeaderValueParameter("https://fcm.googleapis.com");
            return Task.FromResult(new ConnectionCheck(header.Length > 0, "The VAPID keys sign tokens; push services are reached per subscription."));
        }
        catch (Exception e)
        {
            return Task.FromResult(new ConnectionCheck(false, e.Message));
        }
    }
}
