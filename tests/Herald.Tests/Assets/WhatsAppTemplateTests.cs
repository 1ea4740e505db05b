using System.Net;
using System.Text.Json;
using Herald.Auth;
using Herald.Delivery;
using Herald.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Herald.Tests.Assets;

/// <summary>Template sync and campaign checks against WireMock serving the Cloud API's real shapes.</summary>
public sealed class WhatsAppTemplateTests(HeraldApp app) : IClassFixture<HeraldApp>, IDisposable
{
    private const string PhoneId = "106540352242922";
    private const string Waba = "102290129340398";
    private readonly WireMockServer _meta = WireMockServer.Start();

    public void Dispose() => _meta.Stop();

    /// <summary>First page: an approved template with an IMAGE header and three body parameters, and a text-only one; paging.next present.</summary>
    private const string Page1 = $$$"""
        {"data":[
          {"name":"seasonal_offer","parameter_format":"POSITIONAL","components":[
             {"type":"HEADER","format":"IMAGE","example":{"header_handle":["https://scontent.whatsapp.net/v/t61/sample.jpg"]}},
             {"type":"BODY","text":"Hi {{1}}, {{2}} is back with {{3}} off. Shop now!","example":{"body_text":[["Asha","Festive hamper","20%"]]}},
             {"type":"FOOTER","text":"Reply STOP to opt out"},
             {"type":"BUTTONS","buttons":[{"type":"URL","text":"Shop","url":"https://shop.example/{{1}}","example":["https://shop.example/sale"]}]}],
           "language":"en_US","status":"APPROVED","category":"MARKETING","id":"1190483945616234"},
          {"name":"order_update","parameter_format":"POSITIONAL","components":[
             {"type":"BODY","text":"Your order {{1}} has shipped.","example":{"body_text":[["#1234"]]}}],
           "language":"en_US","status":"APPROVED","category":"UTILITY","id":"560293187611001"}],
         "paging":{"cursors":{"before":"QVFIUk5OaGZA","after":"QVFIUlpXc2hX"},
                   "next":"https://graph.facebook.com/v21.0/{{{Waba}}}/message_templates?limit=2&after=QVFIUlpXc2hX"}}
        """;

    /// <summary>Last page: a pending video template and a Hindi translation; no paging.next.</summary>
    private const string Page2 = """
        {"data":[
          {"name":"festive_video","parameter_format":"POSITIONAL","components":[
             {"type":"HEADER","format":"VIDEO","example":{"header_handle":["https://scontent.whatsapp.net/v/t61/sample.mp4"]}},
             {"type":"BODY","text":"{{1}}, watch what's new"}],
           "language":"en_US","status":"PENDING","category":"MARKETING","id":"842211907712340"},
          {"name":"seasonal_offer","parameter_format":"POSITIONAL","components":[
             {"type":"HEADER","format":"IMAGE"},
             {"type":"BODY","text":"नमस्ते {{1}}, {{2}} पर {{3}} की छूट"}],
           "language":"hi","status":"APPROVED","category":"MARKETING","id":"1190483945616299"}],
         "paging":{"cursors":{"before":"QVFIUlpXc2hX","after":"QVFIUkZAfRkE"}}}
        """;

    private void StubTemplates()
    {
        _meta.Given(Request.Create().WithPath($"/v21.0/{Waba}/message_templates").WithParam("after", "QVFIUlpXc2hX").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(Page2));
        _meta.Given(Request.Create().WithPath($"/v21.0/{Waba}/message_templates").UsingGet()).AtPriority(10)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(Page1));
        _meta.Given(Request.Create().WithPath($"/v21.0/{PhoneId}/messages").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody("""{"messaging_product":"whatsapp","contacts":[{"input":"919876543210","wa_id":"919876543210"}],"messages":[{"id":"wamid.HBgMOTE5ODc2NTQzMjEwFQIAERgSQUE="}]}"""));
    }

    private async Task<TestWorkspace> WorkspaceAsync(bool sync = true)
    {
        var ws = await app.CreateWorkspaceAsync();
        await (await ws.Client().PostJsonAsync("/api/v1/channels", new
        {
            channel = "whatsapp", provider = "whatsapp", name = "WA",
            settings = new { phoneNumberId = PhoneId, wabaId = Waba, accessToken = "EAAG-token-0123456789", appSecret = "app-secret-0123456789", verifyToken = "verify-me-please", apiVersion = "v21.0", baseUrl = _meta.Url },
        })).ExpectAsync(HttpStatusCode.Created);
        StubTemplates();
        if (sync) await (await ws.Client(Role.Editor).PostAsync("/api/v1/channels/whatsapp/templates/sync", null)).ExpectAsync(HttpStatusCode.OK);
        return ws;
    }

    private static object Campaign(string template, string language, string[] parameters, long? productId = null, long? mediaId = null) => new
    {
        name = "WA " + template, channel = "whatsapp",
        content = new { whatsapp = new { templateName = template, language, parameters } },
        audience = new { all = true }, schedule = new { type = "now" }, productId, mediaId,
    };

    [Fact]
    public async Task Sync_FollowsPagingAndStoresNameLanguageStatusParameterCountAndHeader()
    {
        var ws = await WorkspaceAsync();

        var list = await (await ws.Client(Role.Viewer).GetAsync("/api/v1/channels/whatsapp/templates")).ExpectAsync(HttpStatusCode.OK);

        var rows = list.GetProperty("items").EnumerateArray().Select(t => (
            t.GetProperty("name").GetString(), t.GetProperty("language").GetString(), t.GetProperty("status").GetString(),
            t.GetProperty("parameterCount").GetInt32(), t.GetProperty("headerType").GetString())).ToList();
        Assert.Equal(
            [("festive_video", "en_US", "PENDING", 1, "video"), ("order_update", "en_US", "APPROVED", 1, null), ("seasonal_offer", "en_US", "APPROVED", 3, "image"), ("seasonal_offer", "hi", "APPROVED", 3, "image")],
            rows);
        var requests = _meta.LogEntries.Where(e => e.RequestMessage.Path.EndsWith("/message_templates")).ToList();
        Assert.Equal(2, requests.Count);
        Assert.All(requests, r => Assert.Equal("Bearer EAAG-token-0123456789", r.RequestMessage.Headers!["Authorization"].ToString()));
    }

    [Fact]
    public async Task Sync_MetaError_Answers502WithMetasMessage()
    {
        var ws = await app.CreateWorkspaceAsync();
        await (await ws.Client().PostJsonAsync("/api/v1/channels", new
        {
            channel = "whatsapp", provider = "whatsapp", name = "WA",
            settings = new { phoneNumberId = PhoneId, wabaId = "999", accessToken = "EAAG-expired-0123456789", appSecret = "app-secret-0123456789", verifyToken = "verify-me-please", baseUrl = _meta.Url },
        })).ExpectAsync(HttpStatusCode.Created);
        _meta.Given(Request.Create().WithPath("/v21.0/999/message_templates").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(401).WithBody("""{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"fbtrace_id":"A1b2"}}"""));

        var r = await ws.Client(Role.Editor).PostAsync("/api/v1/channels/whatsapp/templates/sync", null);

        var problem = await r.ExpectAsync(HttpStatusCode.BadGateway);
        Assert.Contains("Session has expired", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("no_such_template", "en_US", 3, "content.whatsapp.templateName", "no WhatsApp template 'no_such_template'")]
    [InlineData("festive_video", "en_US", 1, "content.whatsapp.templateName", "is PENDING; only APPROVED templates can be sent")]
    [InlineData("seasonal_offer", "fr", 3, "content.whatsapp.language", "has no 'fr' translation (it has en_US, hi)")]
    [InlineData("order_update", "en_US", 2, "content.whatsapp.parameters", "takes 1 body parameter; 2 given")]
    public async Task Submit_TemplateThatCannotBeSent_Answers400SayingWhatIsWrong(string template, string language, int parameterCount, string field, string message)
    {
        // Drafted before the sync (nothing to check against yet), submitted after it: submit checks again.
        var ws = await WorkspaceAsync(sync: false);
        var editor = ws.Client(Role.Editor);
        var parameters = Enumerable.Range(1, parameterCount).Select(i => $"p{i}").ToArray();
        var draft = await (await editor.PostJsonAsync("/api/v1/campaigns", Campaign(template, language, parameters))).ExpectAsync(HttpStatusCode.Created);
        await (await editor.PostAsync("/api/v1/channels/whatsapp/templates/sync", null)).ExpectAsync(HttpStatusCode.OK);

        var r = await editor.PostAsync($"/api/v1/campaigns/{draft.GetProperty("id").GetString()}/submit", null);

        var problem = await r.ExpectAsync(HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out var messages), problem.ToString());
        Assert.Contains(message, messages[0].GetString());
        // And once synced, a new campaign with the same mistake is refused at create.
        await (await editor.PostJsonAsync("/api/v1/campaigns", Campaign(template, language, parameters))).ExpectAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Create_ImageHeaderTemplate_WithoutMediaOrWithAVideo_Answers400()
    {
        var ws = await WorkspaceAsync();
        var editor = ws.Client(Role.Editor);
        string[] ps = ["a", "b", "c"];

        var none = await (await editor.PostJsonAsync("/api/v1/campaigns", Campaign("seasonal_offer", "en_US", ps))).ExpectAsync(HttpStatusCode.BadRequest);
        Assert.Contains("has a IMAGE header: give its media", none.GetProperty("errors").GetProperty("content.whatsapp.media")[0].GetString());

        var (videoId, _) = await AssetTestKit.UploadOkAsync(editor, AssetTestKit.Mp4(), "clip.mp4");
        var video = await (await editor.PostJsonAsync("/api/v1/campaigns", Campaign("seasonal_offer", "en_US", ps, mediaId: long.Parse(videoId)))).ExpectAsync(HttpStatusCode.BadRequest);
        Assert.Contains("the media given is a video", video.GetProperty("errors").GetProperty("mediaId")[0].GetString());
    }

    [Fact]
    public async Task Send_CampaignWithProductImage_PostsTheHeaderImageLinkAndProductFieldsToTheCloudApi()
    {
        var ws = await WorkspaceAsync();
        var editor = ws.Client(Role.Editor);
        await (await editor.PostJsonAsync("/api/v1/contacts", new { phone = "+919876543210", firstName = "Asha", consent = new Dictionary<string, string> { ["whatsapp"] = "subscribed" } }))
            .ExpectAsync(HttpStatusCode.Created);
        var product = await (await editor.PostJsonAsync("/api/v1/products", new { sku = "HAMPER", name = "Festive hamper", price = 1499, currency = "INR", imageUrl = "https://cdn.shop.example/hamper.jpg" }))
            .ExpectAsync(HttpStatusCode.Created);
        var campaign = await (await editor.PostJsonAsync("/api/v1/campaigns",
            Campaign("seasonal_offer", "en_US", ["{{ contact.firstName }}", "{{ product.name }}", "20%"], productId: long.Parse(product.GetProperty("id").GetString()!))))
            .ExpectAsync(HttpStatusCode.Created);
        var id = campaign.GetProperty("id").GetString();
        await (await editor.PostAsync($"/api/v1/campaigns/{id}/submit", null)).ExpectAsync(HttpStatusCode.OK);
        await (await editor.PostAsync($"/api/v1/campaigns/{id}/send", null)).ExpectAsync(HttpStatusCode.Accepted);

        var engine = app.Services.GetRequiredService<DeliveryEngine>();
        for (var i = 0; i < 50 && (await engine.RunOnceAsync(default)).Claimed > 0; i++) { }

        var send = Assert.Single(_meta.LogEntries, e => e.RequestMessage.Path == $"/v21.0/{PhoneId}/messages").RequestMessage;
        var expected = """
            {"messaging_product":"whatsapp","recipient_type":"individual","to":"919876543210","type":"template",
             "template":{"name":"seasonal_offer","language":{"code":"en_US"},"components":[
               {"type":"header","parameters":[{"type":"image","image":{"link":"https://cdn.shop.example/hamper.jpg"}}]},
               {"type":"body","parameters":[{"type":"text","text":"Asha"},{"type":"text","text":"Festive hamper"},{"type":"text","text":"20%"}]}]}}
            """;
        Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(expected).RootElement, JsonDocument.Parse(send.Body!).RootElement), send.Body);
    }
}
