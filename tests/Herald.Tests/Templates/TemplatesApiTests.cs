using System.Net;
using Herald.Auth;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Templates;

public sealed class TemplatesApiTests(HeraldApp app) : IClassFixture<HeraldApp>
{
    [Fact]
    public async Task Crud_EmailTemplate_RoundTrips()
    {
        var ws = await app.CreateWorkspaceAsync();
        var c = ws.Client(Role.Editor);
        var created = await (await c.PostJsonAsync("/api/v1/templates", new { name = "Welcome", channel = "email", email = new { subject = "Hi {{ contact.firstName }}", html = "<p>Hello</p>", text = "Hello" } }))
            .ExpectAsync(HttpStatusCode.Created);
        var id = created.GetProperty("id").GetString();
        Assert.Equal("Hi {{ contact.firstName }}", created.GetProperty("email").GetProperty("subject").GetString());
        var updated = await (await c.PutJsonAsync($"/api/v1/templates/{id}", new { name = "Welcome 2", channel = "email", email = new { subject = "Hey", html = "<p>Yo</p>" } }))
            .ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("Welcome 2", updated.GetProperty("name").GetString());
        var list = await (await ws.Client(Role.Viewer).GetAsync("/api/v1/templates?channel=email")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(1, list.GetProperty("total").GetInt32());
        await (await c.DeleteAsync($"/api/v1/templates/{id}")).ExpectAsync(HttpStatusCode.NoContent);
        await (await c.GetAsync($"/api/v1/templates/{id}")).ExpectAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Create_SyntaxError_Answers400WithLineAndColumn()
    {
        var ws = await app.CreateWorkspaceAsync();
        var body = await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/templates", new { name = "Broken", channel = "email", email = new { subject = "ok", html = "<p>\n  {{ contact.firstName | }}\n</p>" } }))
            .ExpectAsync(HttpStatusCode.BadRequest);
        var message = body.GetProperty("errors").GetProperty("email.html")[0].GetString()!;
        Assert.Matches(@"line 2, column \d+", message);
    }

    [Fact]
    public async Task Render_ForAContact_UsesItsFieldsAndAliases()
    {
        var ws = await app.CreateWorkspaceAsync("Acme Stores");
        var contact = await (await ws.Client().PostJsonAsync("/api/v1/contacts", new { email = "asha@example.com", firstName = "Asha", lastName = "Rao", attributes = new { plan = "gold" } }))
            .ExpectAsync(HttpStatusCode.Created);
        var t = await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/templates", new
        {
            name = "sms", channel = "sms", sms = new { body = "Hi {name} ({{ contact.attributes.plan }}) from {{companyName}}, {{ contact.city | default: \"somewhere\" }} {{ unsubscribeUrl }}" },
        })).ExpectAsync(HttpStatusCode.Created);
        var preview = await (await ws.Client(Role.Viewer).PostJsonAsync($"/api/v1/templates/{t.GetProperty("id").GetString()}/render", new { contactId = contact.GetProperty("id").GetString() }))
            .ExpectAsync(HttpStatusCode.OK);
        var text = preview.GetProperty("rendered").GetProperty("body").GetString()!;
        Assert.StartsWith("Hi Asha Rao (gold) from Acme Stores, somewhere http", text);

        var sample = await (await ws.Client(Role.Viewer).PostJsonAsync($"/api/v1/templates/{t.GetProperty("id").GetString()}/render", new { data = new { contact = new { firstName = "Ravi" } } }))
            .ExpectAsync(HttpStatusCode.OK);
        Assert.StartsWith("Hi Ravi () from Acme Stores", sample.GetProperty("rendered").GetProperty("body").GetString());
        await (await ws.Client(Role.Viewer).PostJsonAsync($"/api/v1/templates/{t.GetProperty("id").GetString()}/render", new { contactId = "999999" }))
            .ExpectAsync(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("""{"channel":"sms","sms":{"body":"x"}}""", "name")]
    [InlineData("""{"name":"x","channel":"fax","sms":{"body":"x"}}""", "channel")]
    [InlineData("""{"name":"x","channel":"push","sms":{"body":"x"}}""", "push")]
    public async Task Create_Invalid_NamesTheField(string json, string field)
    {
        var ws = await app.CreateWorkspaceAsync();
        var r = await ws.Client(Role.Editor).PostAsync("/api/v1/templates", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        var body = await r.ExpectAsync(HttpStatusCode.BadRequest);
        Assert.True(body.GetProperty("errors").TryGetProperty(field, out _), body.ToString());
    }
}
