using System.Buffers.Binary;
using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Herald.Auth;
using Herald.Tests.Channels;
using Herald.Tests.Infrastructure;
using Microsoft.AspNetCore.WebUtilities;
using MimeKit;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Types;
using WireMock.Util;

namespace Herald.Tests.Integration;

/// <summary>Herald with its background roles on (scheduler and delivery workers), shared by the channel campaign tests.</summary>
public sealed class BackgroundHeraldApp : HeraldApp
{
    public BackgroundHeraldApp() => Roles = "web,scheduler,worker";
}

/// <summary>
/// A campaign over each channel, end to end: the provider configured through /api/v1/channels, contacts and
/// a campaign created, submitted and approved through the API, the real scheduler and workers rendering and
/// sending to a real local server (SMTP sink, WireMock as Twilio and Meta, Kestrel as push service and
/// webhook receiver), then the provider's signed receipts moving deliveries to delivered / read, and the
/// stats and deliveries the API reports.
/// </summary>
public sealed class ChannelCampaignTests(BackgroundHeraldApp app) : IClassFixture<BackgroundHeraldApp>
{
    // ----- the path every test shares -----

    private sealed record Person(string Id, string FirstName, string City, string? Email, string? Phone);

    /// <summary>Two contacts in Pune (the audience) and one in Mumbai (not in it).</summary>
    private static async Task<Person[]> ContactsAsync(TestWorkspace ws, int n, Func<int, object> contact)
    {
        var people = new List<Person>();
        for (var i = 0; i < n; i++)
        {
            var c = await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/contacts", contact(i))).ExpectAsync(HttpStatusCode.Created);
            people.Add(new Person(c.GetProperty("id").GetString()!, c.GetProperty("firstName").GetString()!, c.GetProperty("city").GetString()!,
                c.TryGetProperty("email", out var e) ? e.GetString() : null, c.TryGetProperty("phone", out var p) ? p.GetString() : null));
        }
        return people.ToArray();
    }

    private static async Task ConfigureChannelAsync(TestWorkspace ws, string channel, string provider, object settings)
    {
        var created = await (await ws.Client().PostJsonAsync("/api/v1/channels", new { channel, provider, name = $"{provider} (local)", settings }))
            .ExpectAsync(HttpStatusCode.Created);
        Assert.True(created.GetProperty("default").GetBoolean());
    }

    /// <summary>Creates the campaign for the Pune contacts, submits it as editor, approves it as approver and waits until the run completes.</summary>
    private static async Task<string> SendCampaignAsync(TestWorkspace ws, string channel, object content)
    {
        var editor = ws.Client(Role.Editor);
        var campaign = await (await editor.PostJsonAsync("/api/v1/campaigns", new
        {
            name = $"Winter sale ({channel})", channel, content,
            audience = new { filter = new { city = "Pune" } },
            schedule = new { type = "now" },
        })).ExpectAsync(HttpStatusCode.Created);
        var id = campaign.GetProperty("id").GetString()!;
        await (await editor.PostAsync($"/api/v1/campaigns/{id}/submit", null)).ExpectAsync(HttpStatusCode.OK);
        await (await ws.Client(Role.Approver).PostAsync($"/api/v1/campaigns/{id}/approve", null)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("completed", await WaitForStatusAsync(editor, id, "completed"));
        return id;
    }

    /// <summary>Polls GET /campaigns/{id} until the campaign reaches <paramref name="status"/> (background work) or a minute passes; returns the last status seen.</summary>
    public static async Task<string> WaitForStatusAsync(HttpClient client, string id, string status)
    {
        var seen = "";
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (seen != status && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            seen = (await (await client.GetAsync($"/api/v1/campaigns/{id}")).ExpectAsync(HttpStatusCode.OK)).GetProperty("status").GetString()!;
        }
        return seen;
    }

    private static async Task<JsonElement> StatsAsync(TestWorkspace ws, string campaignId) =>
        await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/campaigns/{campaignId}/stats")).ExpectAsync(HttpStatusCode.OK);

    private static (int Total, int Sent, int Delivered, int Read, int Failed, int Skipped, int Pending) Counts(JsonElement s) =>
        (s.GetProperty("totalRecipients").GetInt32(), s.GetProperty("sent").GetInt32(), s.GetProperty("delivered").GetInt32(), s.GetProperty("read").GetInt32(),
         s.GetProperty("failed").GetInt32(), s.GetProperty("skipped").GetInt32(), s.GetProperty("pending").GetInt32());

    /// <summary>The campaign's deliveries by contact id, as GET /deliveries reports them.</summary>
    private static async Task<Dictionary<string, JsonElement>> DeliveriesAsync(TestWorkspace ws, string campaignId)
    {
        var body = await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/campaigns/{campaignId}/deliveries?limit=100")).ExpectAsync(HttpStatusCode.OK);
        return body.GetProperty("items").EnumerateArray().ToDictionary(d => d.GetProperty("contactId").GetString()!);
    }

    private static string Str(JsonElement e, string property) => e.GetProperty(property).GetString()!;

    // ----- email -----

    [Fact]
    public async Task EmailCampaign_OverSmtp_ReachesTheSinkPersonalisedFromTheConfiguredSender()
    {
        await using var sink = new SmtpSink("herald", "smtp-password-123");
        var ws = await app.CreateWorkspaceAsync("email", s => s.ApprovalRequired = true);
        await ConfigureChannelAsync(ws, "email", "smtp", new
        {
            host = "127.0.0.1", port = sink.Port, security = "none", username = "herald", password = "smtp-password-123",
            fromEmail = "news@shop.example", fromName = "Shop News", replyTo = "care@shop.example", maxConnections = 2,
        });
        string[] names = ["Asha", "Ravi", "Meera"];
        var people = await ContactsAsync(ws, 3, i => new { email = $"{names[i].ToLowerInvariant()}@example.com", firstName = names[i], city = i < 2 ? "Pune" : "Mumbai" });

        var id = await SendCampaignAsync(ws, "email", new
        {
            email = new { subject = "{{ contact.firstName }}, your winter offer", html = "<p>Hi {{ contact.firstName }},</p><p>{{ contact.city }} gets <b>30% off</b> this week.</p>" },
        });

        var received = sink.Messages.ToArray();
        Assert.Equal(2, received.Length);
        // Over the pool: authenticated as the configured user, never more connections than maxConnections.
        Assert.All(sink.Logins, user => Assert.Equal("herald", user));
        Assert.InRange(sink.Sessions, 1, 2);
        var deliveries = await DeliveriesAsync(ws, id);
        foreach (var person in people.Take(2))
        {
            var r = Assert.Single(received, m => m.To.SequenceEqual([person.Email!]));
            var mime = r.Message;
            Assert.Equal("news@shop.example", r.From); // envelope sender
            var from = Assert.IsType<MailboxAddress>(Assert.Single(mime.From));
            Assert.Equal(("Shop News", "news@shop.example"), (from.Name, from.Address));
            Assert.Equal("care@shop.example", Assert.IsType<MailboxAddress>(Assert.Single(mime.ReplyTo)).Address);
            Assert.Equal(person.Email, Assert.IsType<MailboxAddress>(Assert.Single(mime.To)).Address);
            Assert.Equal($"{person.FirstName}, your winter offer", mime.Subject);
            // The rendered body, then the open pixel that tracking appends (one signed token per delivery).
            var html = mime.HtmlBody;
            Assert.StartsWith($"<p>Hi {person.FirstName},</p><p>Pune gets <b>30% off</b> this week.</p>", html);
            Assert.Matches(@"<img src=""http://[^""]+/t/o/[A-Za-z0-9_-]+""", html);
            Assert.Contains("/u/", mime.Headers[HeaderId.ListUnsubscribe]);
            Assert.Equal($"Hi {person.FirstName},\n\nPune gets 30% off this week.", mime.TextBody!.Trim().ReplaceLineEndings("\n"));
            Assert.Null(mime.Headers["X-Herald-Test"]);
            // The Message-ID names the delivery, and the API reports it as the provider's message id.
            var d = deliveries[person.Id];
            Assert.Equal(("sent", person.Email), (Str(d, "status"), Str(d, "address")));
            Assert.Equal(mime.MessageId, Str(d, "providerMessageId"));
            Assert.StartsWith($"d{Str(d, "id")}.", mime.MessageId);
            Assert.EndsWith("@shop.example", mime.MessageId);
        }
        Assert.DoesNotContain(people[2].Id, deliveries.Keys);
        // Email has no delivery receipts: sent is where it ends.
        Assert.Equal((2, 2, 0, 0, 0, 0, 0), Counts(await StatsAsync(ws, id)));
    }

    // ----- sms -----

    private const string TwilioSid = "AC00000000000000000000000000000042";
    private const string TwilioToken = "twilio-token-0123456789";

    /// <summary>Twilio's documented X-Twilio-Signature: HMAC-SHA1 over the URL and the sorted form pairs, with the auth token.</summary>
    private static string TwilioSignature(string url, IDictionary<string, string> form)
    {
        var data = url + string.Concat(form.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + kv.Value));
        return Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(TwilioToken), Encoding.UTF8.GetBytes(data)));
    }

    private async Task TwilioStatusAsync(string messageSid, string to, string status, string? errorCode = null)
    {
        var form = new Dictionary<string, string>
        {
            ["AccountSid"] = TwilioSid, ["MessageSid"] = messageSid, ["SmsSid"] = messageSid, ["MessageStatus"] = status, ["SmsStatus"] = status,
            ["To"] = to, ["From"] = "+15005550006", ["ApiVersion"] = "2010-04-01",
        };
        if (errorCode is not null) form["ErrorCode"] = errorCode;
        var req = new HttpRequestMessage(HttpMethod.Post, "/webhooks/twilio/status") { Content = new FormUrlEncodedContent(form) };
        req.Headers.Add("X-Twilio-Signature", TwilioSignature("http://herald.test/webhooks/twilio/status", form));
        var r = await app.CreateClient().SendAsync(req);
        Assert.True(r.IsSuccessStatusCode, $"status callback answered {(int)r.StatusCode}");
    }

    private static IResponseMessage Json(int status, string json) => new ResponseMessage
    {
        StatusCode = status,
        Headers = new Dictionary<string, WireMockList<string>> { ["Content-Type"] = new("application/json") },
        BodyData = new BodyData { BodyAsString = json, DetectedBodyType = BodyType.String, Encoding = Encoding.UTF8 },
    };

    [Fact]
    public async Task SmsCampaign_OverTwilio_PostsEachPersonalisedMessage_AndStatusCallbacksMoveDeliveries()
    {
        using var twilio = WireMockServer.Start();
        // Twilio answers 201 with the message resource; its sid is derived from the number so the test knows it.
        twilio.Given(Request.Create().WithPath($"/2010-04-01/Accounts/{TwilioSid}/Messages.json").UsingPost())
            .RespondWith(Response.Create().WithCallback(req =>
            {
                var to = QueryHelpers.ParseQuery(req.Body)["To"].ToString();
                return Json(201, $$"""{"sid":"SM{{to.TrimStart('+')}}","status":"queued","to":"{{to}}","from":"+15005550006","error_code":null}""");
            }));
        var ws = await app.CreateWorkspaceAsync("sms", s => s.ApprovalRequired = true);
        await ConfigureChannelAsync(ws, "sms", "twilio", new { accountSid = TwilioSid, authToken = TwilioToken, from = "+15005550006", baseUrl = twilio.Url });
        string[] names = ["Asha", "Ravi", "Meera"];
        var people = await ContactsAsync(ws, 3, i => new { phone = $"+9198765432{i:D2}", firstName = names[i], city = i < 2 ? "Pune" : "Mumbai" });

        var id = await SendCampaignAsync(ws, "sms", new { sms = new { body = "Hi {{ contact.firstName }}, 30% off in {{ contact.city }} today. Reply STOP to opt out" } });

        var requests = twilio.LogEntries.Select(e => e.RequestMessage).ToList();
        Assert.Equal(2, requests.Count);
        foreach (var person in people.Take(2))
        {
            var req = Assert.Single(requests, r => QueryHelpers.ParseQuery(r.Body)["To"] == person.Phone);
            Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{TwilioSid}:{TwilioToken}")), req.Headers!["Authorization"].ToString());
            var form = QueryHelpers.ParseQuery(req.Body);
            Assert.Equal(["Body", "From", "StatusCallback", "To"], form.Keys.Order().ToArray());
            Assert.Equal($"Hi {person.FirstName}, 30% off in Pune today. Reply STOP to opt out", form["Body"].ToString());
            Assert.Equal("+15005550006", form["From"].ToString());
            Assert.Equal("http://herald.test/webhooks/twilio/status", form["StatusCallback"].ToString());
        }
        var before = await DeliveriesAsync(ws, id);
        Assert.Equal(["sent", "sent"], before.Values.Select(d => Str(d, "status")));
        Assert.Equal($"SM{people[0].Phone!.TrimStart('+')}", Str(before[people[0].Id], "providerMessageId"));

        // Twilio reports back: the first message is delivered, the second could not be (30003: unreachable handset).
        var (asha, ravi) = ($"SM{people[0].Phone!.TrimStart('+')}", $"SM{people[1].Phone!.TrimStart('+')}");
        await TwilioStatusAsync(asha, people[0].Phone!, "sent");
        await TwilioStatusAsync(asha, people[0].Phone!, "delivered");
        await TwilioStatusAsync(ravi, people[1].Phone!, "undelivered", "30003");

        var after = await DeliveriesAsync(ws, id);
        Assert.Equal("delivered", Str(after[people[0].Id], "status"));
        Assert.Equal(("failed", "30003"), (Str(after[people[1].Id], "status"), Str(after[people[1].Id], "errorCode")));
        Assert.Equal((2, 1, 1, 0, 1, 0, 0), Counts(await StatsAsync(ws, id)));
    }

    // ----- whatsapp -----

    private const string PhoneNumberId = "106540352242977";
    private const string AppSecret = "meta-app-secret-0123456789";

    private async Task WhatsAppStatusAsync(string wamid, string recipient, string status, long timestamp)
    {
        var body = $$"""
            {"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{
              "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"{{PhoneNumberId}}"},
              "statuses":[{"id":"{{wamid}}","status":"{{status}}","timestamp":"{{timestamp}}","recipient_id":"{{recipient}}"}]},"field":"messages"}]}]}
            """;
        var req = new HttpRequestMessage(HttpMethod.Post, "/webhooks/whatsapp") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        req.Headers.Add("X-Hub-Signature-256", "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(AppSecret), Encoding.UTF8.GetBytes(body))));
        var r = await app.CreateClient().SendAsync(req);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    [Fact]
    public async Task WhatsAppCampaign_OverCloudApi_PostsTheTemplateWithRenderedParameters_AndWebhookStatusesMoveDeliveriesToRead()
    {
        using var meta = WireMockServer.Start();
        meta.Given(Request.Create().WithPath($"/v21.0/{PhoneNumberId}/messages").UsingPost())
            .RespondWith(Response.Create().WithCallback(req =>
            {
                var to = JsonDocument.Parse(req.Body!).RootElement.GetProperty("to").GetString();
                return Json(200, $$"""{"messaging_product":"whatsapp","contacts":[{"input":"{{to}}","wa_id":"{{to}}"}],"messages":[{"id":"wamid.{{to}}","message_status":"accepted"}]}""");
            }));
        var ws = await app.CreateWorkspaceAsync("whatsapp", s => s.ApprovalRequired = true);
        await ConfigureChannelAsync(ws, "whatsapp", "whatsapp", new
        {
            phoneNumberId = PhoneNumberId, wabaId = "102290129340398", accessToken = "EAAG-access-token-0123456789", appSecret = AppSecret,
            verifyToken = "verify-token-42", apiVersion = "v21.0", baseUrl = meta.Url,
        });
        string[] names = ["Asha", "Ravi", "Meera"];
        var people = await ContactsAsync(ws, 3, i => new { phone = $"+9198220011{i:D2}", firstName = names[i], city = i < 2 ? "Pune" : "Mumbai" });

        var id = await SendCampaignAsync(ws, "whatsapp", new
        {
            whatsapp = new
            {
                templateName = "winter_sale", language = "en_US", parameters = new[] { "{{ contact.firstName }}", "{{ contact.city }}" },
                media = new { url = "https://cdn.shop.example/winter.jpg", type = "image" },
            },
        });

        var requests = meta.LogEntries.Select(e => e.RequestMessage).ToList();
        Assert.Equal(2, requests.Count);
        foreach (var person in people.Take(2))
        {
            var to = person.Phone!.TrimStart('+');
            var req = Assert.Single(requests, r => JsonDocument.Parse(r.Body!).RootElement.GetProperty("to").GetString() == to);
            Assert.Equal("Bearer EAAG-access-token-0123456789", req.Headers!["Authorization"].ToString());
            var expected = $$$"""
                {"messaging_product":"whatsapp","recipient_type":"individual","to":"{{{to}}}","type":"template",
                 "template":{"name":"winter_sale","language":{"code":"en_US"},"components":[
                   {"type":"header","parameters":[{"type":"image","image":{"link":"https://cdn.shop.example/winter.jpg"}}]},
                   {"type":"body","parameters":[{"type":"text","text":"{{{person.FirstName}}}"},{"type":"text","text":"Pune"}]}]}}
                """;
            Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(expected).RootElement, JsonDocument.Parse(req.Body!).RootElement), req.Body);
        }
        var before = await DeliveriesAsync(ws, id);
        Assert.Equal($"wamid.{people[0].Phone!.TrimStart('+')}", Str(before[people[0].Id], "providerMessageId"));

        // Meta reports: Asha's message delivered, then read; Ravi's delivered.
        var (asha, ravi) = (people[0].Phone!.TrimStart('+'), people[1].Phone!.TrimStart('+'));
        await WhatsAppStatusAsync($"wamid.{asha}", asha, "sent", 1764079200);
        await WhatsAppStatusAsync($"wamid.{asha}", asha, "delivered", 1764079205);
        await WhatsAppStatusAsync($"wamid.{ravi}", ravi, "delivered", 1764079206);
        await WhatsAppStatusAsync($"wamid.{asha}", asha, "read", 1764079260);

        var after = await DeliveriesAsync(ws, id);
        Assert.Equal(("read", "delivered"), (Str(after[people[0].Id], "status"), Str(after[people[1].Id], "status")));
        Assert.Equal((2, 2, 2, 1, 0, 0, 0), Counts(await StatsAsync(ws, id)));
    }

    // ----- web push -----

    /// <summary>A P-256 key pair as a browser or a VAPID sender holds it.</summary>
    private sealed record KeyPair(ECParameters Parameters)
    {
        public static KeyPair New()
        {
            using var ec = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
            return new KeyPair(ec.ExportParameters(true));
        }

        public byte[] Public => [4, .. Parameters.Q.X!, .. Parameters.Q.Y!];
        public string PublicB64 => Base64Url.EncodeToString(Public);
        public string PrivateB64 => Base64Url.EncodeToString(Parameters.D!);
    }

    /// <summary>
    /// What the browser does with an aes128gcm push message (RFC 8291 / RFC 8188): ECDH with the sender's
    /// ephemeral key from the header, HKDF with the subscription's auth secret, AES-128-GCM, strip the padding.
    /// </summary>
    private static string DecryptPush(byte[] body, KeyPair browser, byte[] authSecret)
    {
        var salt = body[..16];
        Assert.True(BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(16, 4)) >= body.Length - 21 - body[20], "one record");
        var senderPublic = body[21..(21 + body[20])];
        var cipher = body[(21 + body[20])..];
        using var mine = ECDiffieHellman.Create(browser.Parameters);
        using var theirs = ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = senderPublic[1..33], Y = senderPublic[33..65] },
        });
        var shared = mine.DeriveRawSecretAgreement(theirs.PublicKey);
        byte[] keyInfo = [.. "WebPush: info\0"u8, .. browser.Public, .. senderPublic];
        var ikm = HKDF.DeriveKey(HashAlgorithmName.SHA256, shared, 32, authSecret, keyInfo);
        var cek = HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, 16, salt, "Content-Encoding: aes128gcm\0"u8.ToArray());
        var nonce = HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, 12, salt, "Content-Encoding: nonce\0"u8.ToArray());
        var plain = new byte[cipher.Length - 16];
        using (var aes = new AesGcm(cek, 16)) aes.Decrypt(nonce, cipher[..^16], cipher[^16..], plain);
        var end = Array.FindLastIndex(plain, b => b != 0);
        Assert.Equal(2, plain[end]); // the last record's padding delimiter
        return Encoding.UTF8.GetString(plain, 0, end);
    }

    /// <summary>The VAPID header a push service checks (RFC 8292): an ES256 JWT for its origin, signed by the key it names.</summary>
    private static void AssertVapid(string authorization, KeyPair vapid, string audience)
    {
        var m = Regex.Match(authorization, @"^vapid t=(?<t>[^,\s]+),\s*k=(?<k>\S+)$");
        Assert.True(m.Success, authorization);
        Assert.Equal(vapid.PublicB64, m.Groups["k"].Value);
        var parts = m.Groups["t"].Value.Split('.');
        Assert.Equal(3, parts.Length);
        var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0])).RootElement;
        Assert.Equal("ES256", header.GetProperty("alg").GetString());
        var claims = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1])).RootElement;
        Assert.Equal(audience, claims.GetProperty("aud").GetString());
        Assert.Equal("mailto:ops@shop.example", claims.GetProperty("sub").GetString());
        var exp = DateTimeOffset.FromUnixTimeSeconds(claims.GetProperty("exp").GetInt64());
        Assert.InRange(exp, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddHours(24).AddMinutes(1));
        using var key = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = vapid.Parameters.Q });
        Assert.True(key.VerifyData(Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}"), Base64Url.DecodeFromChars(parts[2]), HashAlgorithmName.SHA256),
            "VAPID JWT signature");
    }

    [Fact]
    public async Task PushCampaign_OverWebPush_ReachesTheSubscribedBrowserEncryptedAndVapidSigned()
    {
        await using var pushService = await HttpSink.StartAsync();
        pushService.Handler = (_, http) => { http.Response.StatusCode = 201; return Task.CompletedTask; };
        var vapid = KeyPair.New();
        var ws = await app.CreateWorkspaceAsync("push", s => s.ApprovalRequired = true);
        await ConfigureChannelAsync(ws, "push", "webpush", new { vapidSubject = "mailto:ops@shop.example", vapidPublicKey = vapid.PublicB64, vapidPrivateKey = vapid.PrivateB64 });
        string[] names = ["Asha", "Ravi", "Meera"];
        var people = await ContactsAsync(ws, 3, i => new { email = $"{names[i].ToLowerInvariant()}@example.com", firstName = names[i], city = i < 2 ? "Pune" : "Mumbai" });
        // Asha's browser subscribed; Ravi never allowed notifications.
        var browser = KeyPair.New();
        var auth = RandomNumberGenerator.GetBytes(16);
        var endpoint = $"{pushService.BaseUrl}/push/v2/asha-browser";
        await (await ws.Client().PostJsonAsync($"/api/v1/contacts/{people[0].Id}/push-subscriptions", new
        {
            endpoint, keys = new { p256dh = browser.PublicB64, auth = Base64Url.EncodeToString(auth) },
        })).ExpectAsync(HttpStatusCode.Created);

        var id = await SendCampaignAsync(ws, "push", new
        {
            push = new { title = "{{ contact.firstName }}, flash sale", body = "30% off in {{ contact.city }} for two hours", url = "https://shop.example/flash" },
        });

        var req = Assert.Single(pushService.Requests);
        Assert.Equal(("POST", "/push/v2/asha-browser"), (req.Method, req.Path));
        // Lib.Net.Http.WebPush names the audience as scheme://host without the port; real push services
        // (FCM, Mozilla autopush, Apple) listen on 443, where that is the origin RFC 8292 asks for.
        var service = new Uri(pushService.BaseUrl);
        AssertVapid(req.Headers["Authorization"], vapid, $"{service.Scheme}://{service.Host}");
        Assert.Equal("aes128gcm", req.Headers["Content-Encoding"]);
        Assert.Equal("86400", req.Headers["TTL"]);
        var deliveries = await DeliveriesAsync(ws, id);
        var payload = JsonDocument.Parse(DecryptPush(req.Raw, browser, auth)).RootElement;
        Assert.Equal("Asha, flash sale", Str(payload, "title"));
        Assert.Equal("30% off in Pune for two hours", Str(payload, "body"));
        Assert.Equal("https://shop.example/flash", Str(payload, "url"));
        Assert.Equal(Str(deliveries[people[0].Id], "id"), Str(payload, "deliveryId"));

        Assert.Equal(("sent", $"contact:{people[0].Id}"), (Str(deliveries[people[0].Id], "status"), Str(deliveries[people[0].Id], "address")));
        Assert.Equal(("skipped", "no_address"), (Str(deliveries[people[1].Id], "status"), Str(deliveries[people[1].Id], "reason")));
        // Web push has no delivery receipts.
        Assert.Equal((2, 1, 0, 0, 0, 1, 0), Counts(await StatsAsync(ws, id)));
    }

    // ----- webhook -----

    [Fact]
    public async Task WebhookCampaign_PostsSignedPersonalisedJson_ThatTheReceiverVerifies()
    {
        const string secret = "whsec-campaign-0123456789";
        await using var receiver = await HttpSink.StartAsync();
        var verified = new List<bool>();
        receiver.Handler = (r, http) =>
        {
            // The receiver refuses what it cannot verify; a bad signature would fail the deliveries.
            var ok = HttpSink.HeraldSignatureValid(secret, r.Headers.GetValueOrDefault("X-Herald-Signature"), r.Body);
            lock (verified) verified.Add(ok);
            http.Response.StatusCode = ok ? 204 : 401;
            return Task.CompletedTask;
        };
        var url = $"{receiver.BaseUrl}/hooks/herald";
        var ws = await app.CreateWorkspaceAsync("webhook", s => s.ApprovalRequired = true);
        await ConfigureChannelAsync(ws, "webhook", "webhook", new { url, secret, headers = new Dictionary<string, string> { ["X-Api-Key"] = "receiver-key" } });
        string[] names = ["Asha", "Ravi", "Meera"];
        var people = await ContactsAsync(ws, 3, i => new
        {
            email = $"{names[i].ToLowerInvariant()}@example.com", firstName = names[i], city = i < 2 ? "Pune" : "Mumbai",
            attributes = new { note = i == 0 ? "says \"hi\"" : "none" },
        });

        var id = await SendCampaignAsync(ws, "webhook", new
        {
            webhook = new { url, body = """{"event":"winter_sale","firstName":"{{ contact.firstName }}","city":"{{ contact.city }}","note":"{{ contact.attributes.note }}"}""" },
        });

        var requests = receiver.Requests.ToArray();
        Assert.Equal(2, requests.Length);
        Assert.Equal([true, true], verified);
        var deliveries = await DeliveriesAsync(ws, id);
        foreach (var (person, note) in new[] { (people[0], "says \"hi\""), (people[1], "none") })
        {
            var req = Assert.Single(requests, r => JsonDocument.Parse(r.Body).RootElement.GetProperty("firstName").GetString() == person.FirstName);
            Assert.Equal(("POST", "/hooks/herald"), (req.Method, req.Path));
            var expected = JsonSerializer.Serialize(new { @event = "winter_sale", firstName = person.FirstName, city = "Pune", note });
            Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(expected).RootElement, JsonDocument.Parse(req.Body).RootElement), req.Body);
            Assert.StartsWith("application/json", req.Headers["Content-Type"]);
            Assert.Equal("receiver-key", req.Headers["X-Api-Key"]);
            var d = deliveries[person.Id];
            Assert.Equal(Str(d, "id"), req.Headers["X-Message-Id"]);
            Assert.Equal("sent", Str(d, "status"));
        }
        Assert.Equal((2, 2, 0, 0, 0, 0, 0), Counts(await StatsAsync(ws, id)));
    }
}
