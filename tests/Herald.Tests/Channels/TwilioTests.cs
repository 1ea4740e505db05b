using System.Net;
using System.Security.Cryptography;
using System.Text;
using Herald.Channels;
using Herald.Channels.Twilio;
using Herald.Contacts;
using Herald.Delivery;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Herald.Tests.Channels;

/// <summary>The twilio provider against WireMock serving Twilio's request and error shapes, and Twilio's signed callbacks.</summary>
public sealed class TwilioTests(HeraldApp app) : IClassFixture<HeraldApp>, IDisposable
{
    private const string Sid = "AC00000000000000000000000000000001";
    private readonly WireMockServer _twilio = WireMockServer.Start();

    public void Dispose() => _twilio.Stop();

    private string SettingsJson(string token = "token-0123456789abcdef") =>
        $$"""{"accountSid":"{{Sid}}","authToken":"{{token}}","from":"+15005550006","baseUrl":"{{_twilio.Url}}"}""";

    private IChannelProvider Provider() => app.Services.GetRequiredService<TwilioChannel>().Create("twilio", "sms", SettingsJson());

    private static OutgoingMessage Sms(long id, string to, string body) =>
        new(id, 1, 3, 30, 900 + id, ChannelNames.Sms, to, new RenderedMessage { Body = body });

    private void StubMessages(int status, string body, string? retryAfter = null)
    {
        var response = Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body);
        if (retryAfter is not null) response = response.WithHeader("Retry-After", retryAfter);
        _twilio.Given(Request.Create().WithPath($"/2010-04-01/Accounts/{Sid}/Messages.json").UsingPost()).RespondWith(response);
    }

    [Fact]
    public async Task SendBatch_PostsTwilioFormWithBasicAuthAndStatusCallback()
    {
        StubMessages(201, """{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued","to":"+15551234567","from":"+15005550006","error_code":null}""");

        var r = Assert.Single(await Provider().SendBatchAsync([Sms(11, "+15551234567", "Sale ends tonight! Reply STOP to opt out")], default));

        Assert.True(r.Succeeded, r.ErrorText);
        Assert.Equal("SM0123456789abcdef0123456789abcdef", r.ProviderMessageId);
        var req = Assert.Single(_twilio.LogEntries).RequestMessage;
        Assert.Equal("application/x-www-form-urlencoded", req.Headers!["Content-Type"].ToString().Split(';')[0]);
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Sid}:token-0123456789abcdef")), req.Headers["Authorization"].ToString());
        var form = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(req.Body);
        Assert.Equal(["Body", "From", "StatusCallback", "To"], form.Keys.Order().ToArray());
        Assert.Equal("+15551234567", form["To"].ToString());
        Assert.Equal("+15005550006", form["From"].ToString());
        Assert.Equal("Sale ends tonight! Reply STOP to opt out", form["Body"].ToString());
        Assert.Equal("http://herald.test/webhooks/twilio/status", form["StatusCallback"].ToString());
    }

    [Theory]
    [InlineData(400, 21211, "The 'To' number +1555 is not a valid phone number.", FailureKind.Permanent, false)]
    [InlineData(400, 21610, "Attempt to send to unsubscribed recipient", FailureKind.Permanent, true)]
    [InlineData(400, 21614, "'To' number is not a valid mobile number", FailureKind.Permanent, false)]
    [InlineData(400, 21408, "Permission to send an SMS has not been enabled for the region", FailureKind.Permanent, false)]
    [InlineData(429, 20429, "Too Many Requests", FailureKind.Transient, false)]
    [InlineData(400, 30001, "Queue overflow", FailureKind.Transient, false)]
    [InlineData(503, 20503, "Service unavailable", FailureKind.Transient, false)]
    public async Task SendBatch_TwilioError_IsClassifiedByCode(int http, int code, string message, FailureKind kind, bool suppress)
    {
        StubMessages(http, $$"""{"code":{{code}},"message":"{{message}}","more_info":"https://www.twilio.com/docs/errors/{{code}}","status":{{http}}}""", retryAfter: http == 429 ? "7" : null);

        var r = Assert.Single(await Provider().SendBatchAsync([Sms(12, "+1555", "hi")], default));

        Assert.Equal(kind, r.Failure);
        Assert.Equal(code.ToString(), r.ErrorCode);
        Assert.Equal(message, r.ErrorText);
        Assert.Equal(suppress, r.SuppressAddress);
        if (http == 429) Assert.Equal(TimeSpan.FromSeconds(7), r.RetryAfter);
    }

    [Fact]
    public async Task SendBatch_GatewayErrorWithoutJson_IsTransient()
    {
        _twilio.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(502).WithBody("<html>Bad Gateway</html>"));

        var r = Assert.Single(await Provider().SendBatchAsync([Sms(13, "+15551234567", "hi")], default));

        Assert.Equal(FailureKind.Transient, r.Failure);
        Assert.Equal("http_502", r.ErrorCode);
    }

    // ----- callbacks -----

    private async Task<(TestWorkspace Ws, string ChannelId)> WorkspaceWithTwilioAsync(string token = "token-0123456789abcdef")
    {
        var ws = await app.CreateWorkspaceAsync();
        var body = await (await ws.Client().PostAsync("/api/v1/channels", new StringContent(
            $$"""{"channel":"sms","provider":"twilio","name":"Twilio","settings":{{SettingsJson(token)}}}""", Encoding.UTF8, "application/json")))
            .ExpectAsync(HttpStatusCode.Created);
        return (ws, body.GetProperty("id").GetString()!);
    }

    /// <summary>Twilio's documented algorithm, written out independently of the app's.</summary>
    private static string TwilioSignature(string token, string url, IDictionary<string, string> form)
    {
        var data = url + string.Concat(form.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + kv.Value));
        using var h = new HMACSHA1(Encoding.UTF8.GetBytes(token));
        return Convert.ToBase64String(h.ComputeHash(Encoding.UTF8.GetBytes(data)));
    }

    private Task<HttpResponseMessage> Callback(string path, Dictionary<string, string> form, string? signature)
    {
        var req = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
        if (signature is not null) req.Headers.Add("X-Twilio-Signature", signature);
        return app.CreateClient().SendAsync(req);
    }

    private static Dictionary<string, string> StatusForm(string messageSid, string status, string? errorCode = null)
    {
        var f = new Dictionary<string, string>
        {
            ["AccountSid"] = Sid, ["MessageSid"] = messageSid, ["SmsSid"] = messageSid, ["MessageStatus"] = status, ["SmsStatus"] = status,
            ["To"] = "+15551234567", ["From"] = "+15005550006", ["ApiVersion"] = "2010-04-01",
        };
        if (errorCode is not null) f["ErrorCode"] = errorCode;
        return f;
    }

    [Fact]
    public async Task StatusCallback_ValidSignature_MovesDeliveryToDeliveredOnce()
    {
        var (ws, _) = await WorkspaceWithTwilioAsync();
        var seeded = await ChannelTestData.SeedDeliveryAsync(ws, "sms", "+15551234567", "SMdeliv01");
        const string url = "http://herald.test/webhooks/twilio/status";

        foreach (var status in new[] { "sent", "delivered", "delivered" })
        {
            var form = StatusForm("SMdeliv01", status);
            var r = await Callback("/webhooks/twilio/status", form, TwilioSignature("token-0123456789abcdef", url, form));
            Assert.True(r.IsSuccessStatusCode, $"{(int)r.StatusCode}");
        }

        var d = await ChannelTestData.DeliveryAsync(app, seeded.DeliveryId);
        Assert.Equal(DeliveryStatus.Delivered, d.Status);
        Assert.NotNull(d.DeliveredAt);
        var run = await ChannelTestData.RunAsync(app, seeded.RunId);
        Assert.Equal((1, 1), (run.Sent, run.Delivered));
    }

    [Fact]
    public async Task StatusCallback_Undelivered_FailsDeliveryWithTwilioErrorCode()
    {
        var (ws, _) = await WorkspaceWithTwilioAsync();
        var seeded = await ChannelTestData.SeedDeliveryAsync(ws, "sms", "+15551234567", "SMfail01");
        var form = StatusForm("SMfail01", "undelivered", "30003");

        var r = await Callback("/webhooks/twilio/status", form, TwilioSignature("token-0123456789abcdef", "http://herald.test/webhooks/twilio/status", form));

        Assert.True(r.IsSuccessStatusCode);
        var d = await ChannelTestData.DeliveryAsync(app, seeded.DeliveryId);
        Assert.Equal((DeliveryStatus.Failed, "30003"), (d.Status, d.ErrorCode));
        var run = await ChannelTestData.RunAsync(app, seeded.RunId);
        Assert.Equal((0, 1), (run.Sent, run.Failed));
    }

    [Fact]
    public async Task StatusCallback_MissingForgedOrStaleSignature_IsRejectedAndChangesNothing()
    {
        var (ws, channelId) = await WorkspaceWithTwilioAsync("old-token-0123456789");
        var seeded = await ChannelTestData.SeedDeliveryAsync(ws, "sms", "+15551234567", "SMforge1");
        const string url = "http://herald.test/webhooks/twilio/status";
        var form = StatusForm("SMforge1", "delivered");
        // The token is rotated: signatures made with the old one are stale from now on.
        await (await ws.Client().PutJsonAsync($"/api/v1/channels/{channelId}", new { settings = new { accountSid = Sid, authToken = "new-token-0123456789", from = "+15005550006", baseUrl = _twilio.Url } }))
            .ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(HttpStatusCode.Unauthorized, (await Callback("/webhooks/twilio/status", form, null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Callback("/webhooks/twilio/status", form, TwilioSignature("attacker-guess", url, form))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Callback("/webhooks/twilio/status", form, TwilioSignature("old-token-0123456789", url, form))).StatusCode);
        // A valid signature over other values (replayed header, tampered status) does not pass either.
        var tampered = new Dictionary<string, string>(form) { ["MessageStatus"] = "failed" };
        Assert.Equal(HttpStatusCode.Forbidden, (await Callback("/webhooks/twilio/status", tampered, TwilioSignature("new-token-0123456789", url, form))).StatusCode);

        Assert.Equal(DeliveryStatus.Sent, (await ChannelTestData.DeliveryAsync(app, seeded.DeliveryId)).Status);
        Assert.Equal(0, (await ChannelTestData.RunAsync(app, seeded.RunId)).Delivered);

        var ok = await Callback("/webhooks/twilio/status", form, TwilioSignature("new-token-0123456789", url, form));
        Assert.True(ok.IsSuccessStatusCode);
        Assert.Equal(DeliveryStatus.Delivered, (await ChannelTestData.DeliveryAsync(app, seeded.DeliveryId)).Status);
    }

    [Fact]
    public async Task Inbound_StopReply_UnsubscribesTheNumberFromSms()
    {
        var (ws, _) = await WorkspaceWithTwilioAsync();
        var contact = await (await ws.Client().PostJsonAsync("/api/v1/contacts", new { phone = "+919876543210", email = "stop@example.com" })).ExpectAsync(HttpStatusCode.Created);
        var contactId = long.Parse(contact.GetProperty("id").GetString()!);
        const string url = "http://herald.test/webhooks/twilio/inbound";
        var form = new Dictionary<string, string>
        {
            ["AccountSid"] = Sid, ["MessageSid"] = "SMin0001", ["From"] = "+919876543210", ["To"] = "+15005550006", ["Body"] = " stop ", ["NumMedia"] = "0",
        };

        var forged = await Callback("/webhooks/twilio/inbound", form, TwilioSignature("wrong", url, form));
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        Assert.Equal(ConsentStatus.Subscribed, await app.WithDbAsync(db => db.Contacts.Where(c => c.Id == contactId).Select(c => c.SmsConsent).FirstAsync()));

        var r = await Callback("/webhooks/twilio/inbound", form, TwilioSignature("token-0123456789abcdef", url, form));

        Assert.True(r.IsSuccessStatusCode);
        Assert.Equal("text/xml", r.Content.Headers.ContentType?.MediaType);
        var after = await app.WithDbAsync(db => db.Contacts.AsNoTracking().FirstAsync(c => c.Id == contactId));
        Assert.Equal(ConsentStatus.Unsubscribed, after.SmsConsent);
        Assert.Equal(ConsentStatus.Subscribed, after.EmailConsent);
        var change = await app.WithDbAsync(db => db.ConsentChanges.AsNoTracking().SingleAsync(c => c.ContactId == contactId));
        Assert.Equal(("sms", ConsentStatus.Unsubscribed), (change.Channel, change.Status));
    }

    [Fact]
    public async Task TestConnection_FetchesTheAccount()
    {
        _twilio.Given(Request.Create().WithPath($"/2010-04-01/Accounts/{Sid}.json").UsingGet().WithHeader("Authorization", "Basic *"))
            .RespondWith(Response.Create().WithStatusCode(200).WithBody($$"""{"sid":"{{Sid}}","status":"active","friendly_name":"Shop"}"""));
        var (ws, id) = await WorkspaceWithTwilioAsync();

        var body = await (await ws.Client().PostAsync($"/api/v1/channels/{id}/test", null)).ExpectAsync(HttpStatusCode.OK);

        Assert.True(body.GetProperty("ok").GetBoolean(), body.ToString());
        Assert.Contains(_twilio.LogEntries, e => e.RequestMessage.Path == $"/2010-04-01/Accounts/{Sid}.json");
    }
}
