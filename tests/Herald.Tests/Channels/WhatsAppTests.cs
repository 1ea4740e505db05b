using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Herald.Channels;
using Herald.Channels.WhatsApp;
using Herald.Delivery;
using Herald.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Herald.Tests.Channels;

/// <summary>The whatsapp provider against WireMock serving the Cloud API's shapes, and Meta's signed webhook.</summary>
public sealed class WhatsAppTests(HeraldApp app) : IClassFixture<HeraldApp>, IDisposable
{
    private const string PhoneId = "106540352242922";
    private readonly WireMockServer _meta = WireMockServer.Start();

    public void Dispose() => _meta.Stop();

    private object Settings(string appSecret = "app-secret-0123456789", string verifyToken = "verify-me-please") => new
    {
        phoneNumberId = PhoneId, wabaId = "102290129340398", accessToken = "EAAG-token-0123456789", appSecret, verifyToken,
        apiVersion = "v21.0", baseUrl = _meta.Url,
    };

    private IChannelProvider Provider() =>
        app.Services.GetRequiredService<WhatsAppChannel>().Create("whatsapp", "whatsapp", JsonSerializer.Serialize(Settings(), HttpExtensions.Json));

    private static OutgoingMessage Wa(long id, RenderedMessage content) => new(id, 1, 4, 40, 500 + id, ChannelNames.WhatsApp, "+919876543210", content);

    private void StubSend(int status, string body) =>
        _meta.Given(Request.Create().WithPath($"/v21.0/{PhoneId}/messages").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body));

    private const string Accepted = """{"messaging_product":"whatsapp","contacts":[{"input":"919876543210","wa_id":"919876543210"}],"messages":[{"id":"wamid.HBgMOTE5ODc2NTQzMjEwFQIAERgSQUE=","message_status":"accepted"}]}""";

    [Fact]
    public async Task SendBatch_Template_PostsCloudApiTemplateWithHeaderMediaAndBodyParameters()
    {
        StubSend(200, Accepted);

        var r = Assert.Single(await Provider().SendBatchAsync([Wa(1, new RenderedMessage
        {
            TemplateName = "winter_sale", Language = "en_US", Parameters = ["Asha", "50%"],
            MediaUrl = "https://cdn.shop.example/sale.jpg", MediaType = "image",
        })], default));

        Assert.True(r.Succeeded, r.ErrorText);
        Assert.Equal("wamid.HBgMOTE5ODc2NTQzMjEwFQIAERgSQUE=", r.ProviderMessageId);
        var req = Assert.Single(_meta.LogEntries).RequestMessage;
        Assert.Equal("Bearer EAAG-token-0123456789", req.Headers!["Authorization"].ToString());
        var expected = """
            {"messaging_product":"whatsapp","recipient_type":"individual","to":"919876543210","type":"template",
             "template":{"name":"winter_sale","language":{"code":"en_US"},"components":[
               {"type":"header","parameters":[{"type":"image","image":{"link":"https://cdn.shop.example/sale.jpg"}}]},
               {"type":"body","parameters":[{"type":"text","text":"Asha"},{"type":"text","text":"50%"}]}]}}
            """;
        Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(expected).RootElement, JsonDocument.Parse(req.Body!).RootElement), req.Body);
    }

    [Fact]
    public async Task SendBatch_Text_PostsTextMessage()
    {
        StubSend(200, Accepted);

        var r = Assert.Single(await Provider().SendBatchAsync([Wa(2, new RenderedMessage { Body = "Your order shipped" })], default));

        Assert.True(r.Succeeded);
        var body = JsonDocument.Parse(Assert.Single(_meta.LogEntries).RequestMessage.Body!).RootElement;
        Assert.Equal("text", body.GetProperty("type").GetString());
        Assert.Equal("Your order shipped", body.GetProperty("text").GetProperty("body").GetString());
        Assert.Equal("919876543210", body.GetProperty("to").GetString());
    }

    [Theory]
    [InlineData(400, 131026, "Message undeliverable", FailureKind.Permanent)]
    [InlineData(400, 132001, "Template name does not exist in the translation", FailureKind.Permanent)]
    [InlineData(400, 132000, "Number of parameters does not match the expected number of params", FailureKind.Permanent)]
    [InlineData(400, 130429, "Rate limit hit", FailureKind.Transient)]
    [InlineData(400, 131056, "(Business Account, Consumer Account) pair rate limit hit", FailureKind.Transient)]
    [InlineData(400, 80007, "Rate limit issues", FailureKind.Transient)]
    [InlineData(500, 1, "An unknown error occurred", FailureKind.Transient)]
    [InlineData(429, 999999, "Too many calls", FailureKind.Transient)]
    public async Task SendBatch_MetaError_IsClassifiedByCode(int http, int code, string message, FailureKind kind)
    {
        StubSend(http, $$"""{"error":{"message":"{{message}}","type":"OAuthException","code":{{code}},"error_subcode":2494010,"fbtrace_id":"AazV7xs1q2"}""" + "}");

        var r = Assert.Single(await Provider().SendBatchAsync([Wa(3, new RenderedMessage { TemplateName = "x", Language = "en" })], default));

        Assert.Equal(kind, r.Failure);
        Assert.Equal(code.ToString(), r.ErrorCode);
        Assert.StartsWith(message, r.ErrorText);
    }

    // ----- webhook -----

    private async Task<TestWorkspace> WorkspaceWithWhatsAppAsync(string appSecret = "app-secret-0123456789", string verifyToken = "verify-me-please")
    {
        var ws = await app.CreateWorkspaceAsync();
        await (await ws.Client().PostJsonAsync("/api/v1/channels", new { channel = "whatsapp", provider = "whatsapp", name = "WA", settings = Settings(appSecret, verifyToken) }))
            .ExpectAsync(HttpStatusCode.Created);
        return ws;
    }

    private static string StatusPayload(string messageId, string status, string? errorCode = null)
    {
        var errors = errorCode is null ? "" : $$""","errors":[{"code":{{errorCode}},"title":"Message undeliverable.","message":"Message undeliverable."}]""";
        var statusJson = $$"""{"id":"{{messageId}}","status":"{{status}}","timestamp":"1764079200","recipient_id":"919876543210"{{errors}}""" + "}";
        return $$"""
            {"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{
              "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"{{PhoneId}}"},
              "statuses":[{{statusJson}}]},"field":"messages"}]}]}
            """;
    }

    private static string Signature(string secret, string body)
    {
        using var h = new HMACSHA256(Encoding.UTF8.GetBytes(secret));
        return "sha256=" + Convert.ToHexString(h.ComputeHash(Encoding.UTF8.GetBytes(body))).ToLowerInvariant();
    }

    private Task<HttpResponseMessage> Post(string body, string? signature)
    {
        var req = new HttpRequestMessage(HttpMethod.Post, "/webhooks/whatsapp") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (signature is not null) req.Headers.Add("X-Hub-Signature-256", signature);
        return app.CreateClient().SendAsync(req);
    }

    [Fact]
    public async Task VerifyChallenge_RightToken_EchoesChallenge_WrongToken403()
    {
        await WorkspaceWithWhatsAppAsync(verifyToken: "verify-me-please");
        var client = app.CreateClient();

        var ok = await client.GetAsync("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-me-please&hub.challenge=1158201444");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("1158201444", await ok.Content.ReadAsStringAsync());

        var bad = await client.GetAsync("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444");
        Assert.Equal(HttpStatusCode.Forbidden, bad.StatusCode);
    }

    [Fact]
    public async Task StatusWebhook_SignedStatuses_MoveDeliveryToDeliveredThenRead()
    {
        var ws = await WorkspaceWithWhatsAppAsync();
        var seeded = await ChannelTestData.SeedDeliveryAsync(ws, "whatsapp", "+919876543210", "wamid.read01");

        foreach (var s in new[] { "sent", "delivered", "read", "delivered" })
        {
            var body = StatusPayload("wamid.read01", s);
            Assert.Equal(HttpStatusCode.OK, (await Post(body, Signature("app-secret-0123456789", body))).StatusCode);
        }

        var d = await ChannelTestData.DeliveryAsync(app, seeded.DeliveryId);
        Assert.Equal(DeliveryStatus.Read, d.Status);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1764079200).UtcDateTime, d.ReadAt);
        var run = await ChannelTestData.RunAsync(app, seeded.RunId);
        Assert.Equal((1, 1, 1), (run.Sent, run.Delivered, run.Read));
    }

    [Fact]
    public async Task StatusWebhook_Failed_FailsDeliveryWithMetaCode()
    {
        var ws = await WorkspaceWithWhatsAppAsync();
        var seeded = await ChannelTestData.SeedDeliveryAsync(ws, "whatsapp", "+919876543210", "wamid.fail01");
        var body = StatusPayload("wamid.fail01", "failed", "131026");

        Assert.Equal(HttpStatusCode.OK, (await Post(body, Signature("app-secret-0123456789", body))).StatusCode);

        var d = await ChannelTestData.DeliveryAsync(app, seeded.DeliveryId);
        Assert.Equal((DeliveryStatus.Failed, "131026"), (d.Status, d.ErrorCode));
    }

    [Fact]
    public async Task StatusWebhook_MissingForgedOrStaleSignature_IsRejectedAndChangesNothing()
    {
        var ws = await WorkspaceWithWhatsAppAsync(appSecret: "rotated-secret-0123456789");
        var seeded = await ChannelTestData.SeedDeliveryAsync(ws, "whatsapp", "+919876543210", "wamid.forge1");
        var body = StatusPayload("wamid.forge1", "delivered");

        Assert.Equal(HttpStatusCode.Unauthorized, (await Post(body, null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Post(body, Signature("attacker", body))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Post(body, "sha256=" + new string('0', 64))).StatusCode);
        // Signed for another body (a replayed header on a tampered payload).
        Assert.Equal(HttpStatusCode.Forbidden, (await Post(StatusPayload("wamid.forge1", "read"), Signature("rotated-secret-0123456789", body))).StatusCode);

        Assert.Equal(DeliveryStatus.Sent, (await ChannelTestData.DeliveryAsync(app, seeded.DeliveryId)).Status);
        Assert.Equal(0, (await ChannelTestData.RunAsync(app, seeded.RunId)).Delivered);
    }

    [Fact]
    public async Task TestConnection_FetchesThePhoneNumber()
    {
        _meta.Given(Request.Create().WithPath($"/v21.0/{PhoneId}").UsingGet().WithHeader("Authorization", "Bearer EAAG-token-0123456789"))
            .RespondWith(Response.Create().WithStatusCode(200).WithBody($$"""{"display_phone_number":"+1 555-078-3881","verified_name":"Shop","id":"{{PhoneId}}"}"""));
        var ws = await WorkspaceWithWhatsAppAsync();
        var id = (await (await ws.Client().GetAsync("/api/v1/channels?channel=whatsapp")).ExpectAsync(HttpStatusCode.OK)).GetProperty("items")[0].GetProperty("id").GetString();

        var body = await (await ws.Client().PostAsync($"/api/v1/channels/{id}/test", null)).ExpectAsync(HttpStatusCode.OK);

        Assert.True(body.GetProperty("ok").GetBoolean(), body.ToString());
        Assert.Contains("+1 555-078-3881", body.GetProperty("detail").GetString());
    }
}
