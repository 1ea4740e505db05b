using System.Net;
using System.Security.Cryptography;
using System.Text;
using Herald.Auth;
using Herald.Channels;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Herald.Tests.Channels;

public sealed class ChannelsApiTests(HeraldApp app) : IClassFixture<HeraldApp>
{
    private static object Smtp(SmtpSink sink, string password, object? dkim = null) => new
    {
        host = "127.0.0.1", port = sink.Port, security = "none", username = sink.User, password,
        fromEmail = "news@shop.example", fromName = "Shop", maxConnections = 2, dkim,
    };

    [Fact]
    public async Task Create_SmtpWithSecrets_StoresEncryptedAndNeverReturnsThem()
    {
        await using var sink = new SmtpSink("mailer", "pa55word-abcd1234");
        var ws = await app.CreateWorkspaceAsync();
        var pem = RSA.Create(2048).ExportPkcs8PrivateKeyPem();

        var created = await (await ws.Client().PostJsonAsync("/api/v1/channels", new
        {
            channel = "email", provider = "smtp", name = "Main SMTP", settings = Smtp(sink, "pa55word-abcd1234", new { domain = "shop.example", selector = "s1", privateKeyPem = pem }),
            rateLimit = new { perSecond = 20, perMinute = 1000 },
        })).ExpectAsync(HttpStatusCode.Created);

        var id = created.GetProperty("id").GetString();
        Assert.True(created.GetProperty("default").GetBoolean()); // first of its channel
        Assert.Equal("at_least_once", created.GetProperty("crashPolicy").GetString());
        Assert.Equal(20, created.GetProperty("rateLimit").GetProperty("perSecond").GetInt32());
        var read = await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/channels/{id}")).ExpectAsync(HttpStatusCode.OK);
        var list = await (await ws.Client(Role.Viewer).GetAsync("/api/v1/channels")).ExpectAsync(HttpStatusCode.OK);
        foreach (var text in new[] { created.ToString(), read.ToString(), list.ToString() })
        {
            Assert.DoesNotContain("pa55word", text);
            Assert.DoesNotContain("PRIVATE KEY", text);
        }
        Assert.Equal("••••1234", read.GetProperty("settings").GetProperty("password").GetString());
        Assert.StartsWith("••••", read.GetProperty("settings").GetProperty("dkim").GetProperty("privateKeyPem").GetString());
        Assert.Equal("127.0.0.1", read.GetProperty("settings").GetProperty("host").GetString());

        var stored = await app.WithDbAsync(db => db.Set<ChannelConfig>().AsNoTracking().FirstAsync(c => c.Id == long.Parse(id!)));
        Assert.DoesNotContain("pa55word", stored.ProtectedSettings);
        Assert.DoesNotContain("127.0.0.1", stored.ProtectedSettings);
        var audit = await (await ws.Client().GetAsync($"/api/v1/audit?targetType=channel&targetId={id}")).ExpectAsync(HttpStatusCode.OK);
        Assert.Contains("channel.create", audit.ToString());
        Assert.DoesNotContain("pa55word", audit.ToString());
    }

    [Fact]
    public async Task Update_MaskSentBack_KeepsSecret_NewValueReplacesIt()
    {
        await using var sink = new SmtpSink("mailer", "right-password-1");
        var ws = await app.CreateWorkspaceAsync();
        var created = await (await ws.Client().PostJsonAsync("/api/v1/channels", new { channel = "email", provider = "smtp", name = "SMTP", settings = Smtp(sink, "right-password-1") }))
            .ExpectAsync(HttpStatusCode.Created);
        var id = created.GetProperty("id").GetString();

        // The dashboard round-trips what it read: the masked password.
        var masked = created.GetProperty("settings").GetProperty("password").GetString()!;
        await (await ws.Client().PutJsonAsync($"/api/v1/channels/{id}", new { name = "SMTP renamed", settings = Smtp(sink, masked) })).ExpectAsync(HttpStatusCode.OK);
        var test = await (await ws.Client().PostAsync($"/api/v1/channels/{id}/test", null)).ExpectAsync(HttpStatusCode.OK);
        Assert.True(test.GetProperty("ok").GetBoolean(), test.ToString());

        await (await ws.Client().PutJsonAsync($"/api/v1/channels/{id}", new { settings = Smtp(sink, "wrong-password-2") })).ExpectAsync(HttpStatusCode.OK);
        var failed = await (await ws.Client().PostAsync($"/api/v1/channels/{id}/test", null)).ExpectAsync(HttpStatusCode.OK);
        Assert.False(failed.GetProperty("ok").GetBoolean());
        Assert.Equal("SMTP renamed", (await (await ws.Client().GetAsync($"/api/v1/channels/{id}")).ExpectAsync(HttpStatusCode.OK)).GetProperty("name").GetString());
    }

    [Fact]
    public async Task Default_IsUniquePerChannel()
    {
        var ws = await app.CreateWorkspaceAsync();
        async Task<string> Create(string name, bool? isDefault, string channel = "webhook") =>
            (await (await ws.Client().PostJsonAsync("/api/v1/channels", new
            {
                channel, provider = channel == "webhook" ? "webhook" : "sandbox", name, @default = isDefault,
                settings = channel == "webhook" ? (object)new { url = "https://hooks.example/a", secret = "secret-0123456789abcdef" } : new { },
            })).ExpectAsync(HttpStatusCode.Created)).GetProperty("id").GetString()!;

        var a = await Create("A", null);
        var b = await Create("B", null);
        var email = await Create("E", true, "email");
        var c = await Create("C", true);
        await (await ws.Client().PutJsonAsync($"/api/v1/channels/{b}", new { @default = true })).ExpectAsync(HttpStatusCode.OK);

        var defaults = await app.WithDbAsync(db => db.Set<ChannelConfig>().Where(x => x.WorkspaceId == ws.Id && x.IsDefault).Select(x => x.Id.ToString()).ToListAsync());
        Assert.Equal(new[] { b, email }.Order(), defaults.Order());
        Assert.NotNull(a + c);
    }

    [Theory]
    [InlineData("""{"channel":"sms","provider":"smtp","name":"x","settings":{}}""", "provider")]
    [InlineData("""{"channel":"email","provider":"smtp","name":"x","settings":{"port":25,"fromEmail":"a@b.example"}}""", "settings.host")]
    [InlineData("""{"channel":"email","provider":"smtp","name":"x","settings":{"host":"h","fromEmail":"a@b.example","colour":"red"}}""", "settings.colour")]
    [InlineData("""{"channel":"email","provider":"smtp","name":"x","settings":{"host":"h","fromEmail":"a@b.example","security":"ssl3"}}""", "settings.security")]
    [InlineData("""{"channel":"email","provider":"smtp","name":"x","settings":{"host":"h","fromEmail":"a@b.example","dkim":{"domain":"d","selector":"s","privateKeyPem":"nope"}}}""", "settings.dkim.privateKeyPem")]
    [InlineData("""{"channel":"sms","provider":"twilio","name":"x","settings":{"accountSid":"AC1","authToken":"t"}}""", "settings.from")]
    [InlineData("""{"channel":"webhook","provider":"webhook","name":"x","settings":{"url":"ftp://x","secret":"0123456789abcdef"}}""", "settings.url")]
    [InlineData("""{"channel":"push","provider":"webpush","name":"x","settings":{"vapidSubject":"mailto:a@b","vapidPublicKey":"abc","vapidPrivateKey":"def"}}""", "settings.vapidPublicKey")]
    [InlineData("""{"channel":"email","provider":"sandbox","name":"x","settings":{"host":"h"}}""", "settings")]
    [InlineData("""{"channel":"fax","provider":"sandbox","name":"x"}""", "channel")]
    [InlineData("""{"channel":"email","provider":"sandbox","name":"x","crashPolicy":"maybe"}""", "crashPolicy")]
    public async Task Create_InvalidSettings_Answers400NamingTheField(string json, string field)
    {
        var ws = await app.CreateWorkspaceAsync();
        var r = await ws.Client().PostAsync("/api/v1/channels", new StringContent(json, Encoding.UTF8, "application/json"));
        var body = await r.ExpectAsync(HttpStatusCode.BadRequest);
        Assert.True(body.GetProperty("errors").TryGetProperty(field, out _), body.ToString());
        Assert.Equal(0, await app.WithDbAsync(db => db.Set<ChannelConfig>().CountAsync(c => c.WorkspaceId == ws.Id)));
    }

    [Fact]
    public async Task Webhook_TestConnection_PingsTheUrlSigned()
    {
        await using var sink = await HttpSink.StartAsync();
        var ws = await app.CreateWorkspaceAsync();
        var id = (await (await ws.Client().PostJsonAsync("/api/v1/channels", new
        {
            channel = "webhook", provider = "webhook", name = "CRM", settings = new { url = sink.BaseUrl + "/in", secret = "secret-0123456789abcdef" },
        })).ExpectAsync(HttpStatusCode.Created)).GetProperty("id").GetString();

        var r = await (await ws.Client().PostAsync($"/api/v1/channels/{id}/test", null)).ExpectAsync(HttpStatusCode.OK);

        Assert.True(r.GetProperty("ok").GetBoolean(), r.ToString());
        var req = Assert.Single(sink.Requests);
        Assert.Equal("""{"type":"ping"}""", req.Body);
        Assert.StartsWith("t=", req.Headers["X-Herald-Signature"]);
    }

    [Fact]
    public async Task Delete_RemovesIt_AndOtherWorkspaceCannotSeeIt()
    {
        var a = await app.CreateWorkspaceAsync("A");
        var b = await app.CreateWorkspaceAsync("B");
        var id = (await (await a.Client().PostJsonAsync("/api/v1/channels", new { channel = "email", provider = "sandbox", name = "Sandbox" }))
            .ExpectAsync(HttpStatusCode.Created)).GetProperty("id").GetString();

        Assert.Equal(HttpStatusCode.NotFound, (await b.Client().GetAsync($"/api/v1/channels/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await a.Client(Role.Editor).DeleteAsync($"/api/v1/channels/{id}")).StatusCode);
        await (await a.Client().DeleteAsync($"/api/v1/channels/{id}")).ExpectAsync(HttpStatusCode.NoContent);
        Assert.Equal(HttpStatusCode.NotFound, (await a.Client().GetAsync($"/api/v1/channels/{id}")).StatusCode);
    }
}
