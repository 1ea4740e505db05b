using System.Net;
using System.Text;
using Herald.Auth;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Herald.Tests.Foundation;

public sealed class ContactsApiTests(HeraldApp app) : IClassFixture<HeraldApp>
{
    [Fact]
    public async Task Create_NormalizesEmailPhoneAndTags()
    {
        var ws = await app.CreateWorkspaceAsync("norm", s => s.DefaultPhoneRegion = "IN");
        var body = await (await ws.Client().PostJsonAsync("/api/v1/contacts", new
        {
            email = "  Asha.Rao@Example.COM ", phone = "098765 43210", name = "Asha Rao", tags = new[] { "VIP", "vip", " tech " },
            attributes = new { plan = "gold", score = 7 },
        })).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal("asha.rao@example.com", body.GetProperty("email").GetString());
        Assert.Equal("+919876543210", body.GetProperty("phone").GetString());
        Assert.Equal("Asha", body.GetProperty("firstName").GetString());
        Assert.Equal("Rao", body.GetProperty("lastName").GetString());
        Assert.Equal(new[] { "vip", "tech" }, body.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!).ToArray());
        Assert.Equal("gold", body.GetProperty("attributes").GetProperty("plan").GetString());
        Assert.Equal("lead", body.GetProperty("lifecycle").GetString());
    }

    [Fact]
    public async Task Create_SecondTimeWithSameEmail_UpdatesInsteadOfDuplicating()
    {
        var ws = await app.CreateWorkspaceAsync();
        var first = await (await ws.Client().PostJsonAsync("/api/v1/contacts", new { email = "dup@example.com", city = "Mumbai" })).ExpectAsync(HttpStatusCode.Created);
        var second = await (await ws.Client().PostJsonAsync("/api/v1/contacts", new { email = "DUP@example.com", city = "Pune", externalId = "c-1" })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(first.GetProperty("id").GetString(), second.GetProperty("id").GetString());
        Assert.Equal("Pune", second.GetProperty("city").GetString());
        var third = await (await ws.Client().PostJsonAsync("/api/v1/contacts", new { externalId = "c-1", firstName = "Ravi" })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(first.GetProperty("id").GetString(), third.GetProperty("id").GetString());
        Assert.Equal(1, await app.WithDbAsync(db => db.Contacts.CountAsync(c => c.WorkspaceId == ws.Id)));
    }

    [Theory]
    [InlineData("{\"email\":\"not-an-email\"}", "email")]
    [InlineData("{\"email\":\"ok@example.com\",\"phone\":\"12\"}", "phone")]
    [InlineData("{\"email\":\"ok@example.com\",\"timezone\":\"Mars/Olympus\"}", "timezone")]
    [InlineData("{\"email\":5}", "email")]
    [InlineData("{\"email\":\"ok@example.com\",\"colour\":\"red\"}", "colour")]
    [InlineData("{\"email\":\"ok@exa", "email")]
    [InlineData("{}", "email")]
    public async Task Create_BadInput_AnswersProblemNamingTheFieldAndWritesNothing(string json, string field)
    {
        var ws = await app.CreateWorkspaceAsync();
        var r = await ws.Client().PostAsync("/api/v1/contacts", new StringContent(json, Encoding.UTF8, "application/json"));
        var body = await r.ExpectAsync(HttpStatusCode.BadRequest);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        Assert.True(body.GetProperty("errors").TryGetProperty(field, out _), body.ToString());
        Assert.DoesNotContain("   at ", body.ToString());
        Assert.Equal(0, await app.WithDbAsync(db => db.Contacts.CountAsync(c => c.WorkspaceId == ws.Id)));
    }

    [Fact]
    public async Task Create_OversizeBody_Answers413AndWritesNothing()
    {
        var ws = await app.CreateWorkspaceAsync();
        var huge = "{\"email\":\"big@example.com\",\"firstName\":\"" + new string('x', 17 * 1024 * 1024) + "\"}";
        var r = await ws.Client().PostAsync("/api/v1/contacts", new StringContent(huge, Encoding.UTF8, "application/json"));
        await r.ExpectAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, await app.WithDbAsync(db => db.Contacts.CountAsync(c => c.WorkspaceId == ws.Id)));
    }

    [Fact]
    public async Task Create_WithoutKey401_ViewerKey403_OtherWorkspace404()
    {
        var a = await app.CreateWorkspaceAsync("A");
        var b = await app.CreateWorkspaceAsync("B");
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.ClientWithKey(null).PostJsonAsync("/api/v1/contacts", new { email = "x@example.com" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await a.Client(Role.Viewer).PostJsonAsync("/api/v1/contacts", new { email = "x@example.com" })).StatusCode);
        var created = await (await a.Client(Role.Editor).PostJsonAsync("/api/v1/contacts", new { email = "x@example.com" })).ExpectAsync(HttpStatusCode.Created);
        var id = created.GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.NotFound, (await b.Client().GetAsync($"/api/v1/contacts/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await a.Client(Role.Viewer).GetAsync($"/api/v1/contacts/{id}")).StatusCode);
    }

    [Fact]
    public async Task Bulk_ReportsEachItem_AndBadItemsDoNotStopTheRest()
    {
        var ws = await app.CreateWorkspaceAsync();
        await ws.Client().PostJsonAsync("/api/v1/contacts", new { email = "existing@example.com" });
        var body = await (await ws.Client().PostJsonAsync("/api/v1/contacts/bulk", new
        {
            contacts = new object[]
            {
                new { email = "one@example.com" },
                new { email = "broken" },
                new { email = "existing@example.com", city = "Delhi" },
                new { phone = "+14155550123" },
                new { firstName = "no address" },
            },
        })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(2, body.GetProperty("created").GetInt32());
        Assert.Equal(1, body.GetProperty("updated").GetInt32());
        Assert.Equal(2, body.GetProperty("failed").GetInt32());
        var statuses = body.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("status").GetString()!).ToArray();
        Assert.Equal(new[] { "created", "failed", "updated", "created", "failed" }, statuses);
        Assert.True(body.GetProperty("results")[1].GetProperty("errors").TryGetProperty("email", out _));
        Assert.Equal(3, await app.WithDbAsync(db => db.Contacts.CountAsync(c => c.WorkspaceId == ws.Id)));
    }

    [Fact]
    public async Task Bulk_TenThousandContacts_AllCreated()
    {
        var ws = await app.CreateWorkspaceAsync();
        var contacts = Enumerable.Range(0, 10_000).Select(i => new { email = $"bulk{i}@example.com", tags = new[] { "bulk" } }).ToArray();
        var body = await (await ws.Client().PostJsonAsync("/api/v1/contacts/bulk", new { contacts })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(10_000, body.GetProperty("created").GetInt32());
        var page = await (await ws.Client().GetAsync("/api/v1/contacts?tag=bulk&limit=5")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(10_000, page.GetProperty("total").GetInt64());
        Assert.Equal(5, page.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task OrderEvents_UpdateMetrics_AndMakeTheContactACustomer()
    {
        var ws = await app.CreateWorkspaceAsync();
        var c = await (await ws.Client().PostJsonAsync("/api/v1/contacts", new { email = "buyer@example.com" })).ExpectAsync(HttpStatusCode.Created);
        var id = c.GetProperty("id").GetString();
        await (await ws.Client().PostJsonAsync($"/api/v1/contacts/{id}/events", new { type = "order", value = 1200.50m, currency = "INR", occurredAt = DateTimeOffset.UtcNow.AddDays(-10) })).ExpectAsync(HttpStatusCode.Created);
        await (await ws.Client().PostJsonAsync($"/api/v1/contacts/{id}/events", new { type = "order", value = 4000m, occurredAt = DateTimeOffset.UtcNow.AddDays(-3) })).ExpectAsync(HttpStatusCode.Created);
        await (await ws.Client().PostJsonAsync($"/api/v1/contacts/{id}/events", new { type = "page_view" })).ExpectAsync(HttpStatusCode.Created);
        var after = await (await ws.Client().GetAsync($"/api/v1/contacts/{id}")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(2, after.GetProperty("totalOrders").GetInt32());
        Assert.Equal(5200.50m, after.GetProperty("totalSpent").GetDecimal());
        Assert.Equal(3, after.GetProperty("lastOrderDays").GetInt32());
        Assert.Equal("customer", after.GetProperty("lifecycle").GetString());
        var events = await (await ws.Client().GetAsync($"/api/v1/contacts/{id}/events")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(3, events.GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task OrderEvent_ValueBeyondWhatTotalsCanHold_Answers400OnValue_AndLeavesTheTotals()
    {
        var ws = await app.CreateWorkspaceAsync();
        var c = await (await ws.Client().PostJsonAsync("/api/v1/contacts", new { email = "big@example.com" })).ExpectAsync(HttpStatusCode.Created);
        var id = c.GetProperty("id").GetString();
        var body = await (await ws.Client().PostJsonAsync($"/api/v1/contacts/{id}/events", new { type = "order", value = 9223372036854775807m })).ExpectAsync(HttpStatusCode.BadRequest);
        Assert.True(body.GetProperty("errors").TryGetProperty("value", out _));
        var after = await (await ws.Client().GetAsync($"/api/v1/contacts/{id}")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(0, after.GetProperty("totalOrders").GetInt32());
        Assert.Equal(0m, after.GetProperty("totalSpent").GetDecimal());
    }

    [Fact]
    public async Task EventsByAddress_CreateUnknownContacts_AndRejectBadEventsWithoutCreating()
    {
        var ws = await app.CreateWorkspaceAsync();
        var body = await (await ws.Client().PostJsonAsync("/api/v1/events", new
        {
            events = new object[]
            {
                new { email = "new-buyer@example.com", type = "order", value = 99 },
                new { email = "ghost@example.com", type = "" },
            },
        })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(1, body.GetProperty("created").GetInt32());
        Assert.Equal(1, body.GetProperty("failed").GetInt32());
        var contacts = await app.WithDbAsync(db => db.Contacts.Where(c => c.WorkspaceId == ws.Id).ToListAsync());
        var only = Assert.Single(contacts);
        Assert.Equal("new-buyer@example.com", only.Email);
        Assert.Equal(1, only.TotalOrders);
    }

    [Fact]
    public async Task Patch_ChangesGivenFields_AndRefusesAnotherContactsEmail()
    {
        var ws = await app.CreateWorkspaceAsync();
        var a = await (await ws.Client().PostJsonAsync("/api/v1/contacts", new { email = "a@example.com", city = "Mumbai", attributes = new { plan = "gold", tier = 1 } })).ExpectAsync(HttpStatusCode.Created);
        await ws.Client().PostJsonAsync("/api/v1/contacts", new { email = "b@example.com" });
        var id = a.GetProperty("id").GetString();
        var patched = await (await ws.Client().PatchJsonAsync($"/api/v1/contacts/{id}", new { city = "Pune", attributes = new { tier = 2 } })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("Pune", patched.GetProperty("city").GetString());
        Assert.Equal("gold", patched.GetProperty("attributes").GetProperty("plan").GetString());
        Assert.Equal(2, patched.GetProperty("attributes").GetProperty("tier").GetInt32());
        var conflict = await (await ws.Client().PatchJsonAsync($"/api/v1/contacts/{id}", new { email = "b@example.com" })).ExpectAsync(HttpStatusCode.Conflict);
        Assert.Contains("b@example.com", conflict.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task ConsentSetThroughTheApi_IsWrittenToTheHistory_OncePerChange()
    {
        var ws = await app.CreateWorkspaceAsync();
        var created = await (await ws.Client().PostJsonAsync("/api/v1/contacts", new { email = "consent@example.com", phone = "+919800000001", consent = new { email = "subscribed" } }))
            .ExpectAsync(HttpStatusCode.Created);
        var id = created.GetProperty("id").GetString();
        var patched = await (await ws.Client().PatchJsonAsync($"/api/v1/contacts/{id}", new { consent = new { email = "unsubscribed", sms = "subscribed" } })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("unsubscribed", patched.GetProperty("consent").GetProperty("email").GetProperty("status").GetString());
        // The same statuses again change nothing, so they add no history.
        await (await ws.Client().PatchJsonAsync($"/api/v1/contacts/{id}", new { consent = new { email = "unsubscribed", sms = "subscribed" } })).ExpectAsync(HttpStatusCode.OK);
        await (await ws.Client().PostJsonAsync("/api/v1/contacts/bulk", new { contacts = new[] { new { email = "consent@example.com", consent = new { email = "subscribed" } } } })).ExpectAsync(HttpStatusCode.OK);

        var history = await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/contacts/{id}/consent-history")).ExpectAsync(HttpStatusCode.OK);
        var rows = history.EnumerateArray().Select(r => (r.GetProperty("channel").GetString(), r.GetProperty("status").GetString(), r.GetProperty("source").GetString())).ToList();
        Assert.Equal(4, rows.Count);
        Assert.Equal(("email", "subscribed", "api"), rows[0]);
        Assert.Equal(2, rows.Count(r => r == ("email", "subscribed", "api")));
        Assert.Contains(("email", "unsubscribed", "api"), rows);
        Assert.Contains(("sms", "subscribed", "api"), rows);
        var other = await app.CreateWorkspaceAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await other.Client().GetAsync($"/api/v1/contacts/{id}/consent-history")).StatusCode);
    }

    [Fact]
    public async Task Delete_ErasesPersonalData_KeepsTombstone()
    {
        var ws = await app.CreateWorkspaceAsync();
        var c = await (await ws.Client().PostJsonAsync("/api/v1/contacts", new { email = "gone@example.com", phone = "+14155550199", firstName = "Gone" })).ExpectAsync(HttpStatusCode.Created);
        var id = c.GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.NoContent, (await ws.Client().DeleteAsync($"/api/v1/contacts/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await ws.Client().GetAsync($"/api/v1/contacts/{id}")).StatusCode);
        var row = await app.WithDbAsync(db => db.Contacts.SingleAsync(x => x.Id == long.Parse(id!)));
        Assert.Null(row.Email);
        Assert.Null(row.Phone);
        Assert.Null(row.FirstName);
        Assert.NotNull(row.DeletedAt);
        var audit = await (await ws.Client().GetAsync($"/api/v1/audit?targetType=contact&targetId={id}")).ExpectAsync(HttpStatusCode.OK);
        Assert.Contains(audit.GetProperty("items").EnumerateArray(), e => e.GetProperty("action").GetString() == "contact.erase");
        // The address is free again for a new contact.
        await (await ws.Client().PostJsonAsync("/api/v1/contacts", new { email = "gone@example.com" })).ExpectAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Search_ByText_FindsMatchesAndPages()
    {
        var ws = await app.CreateWorkspaceAsync();
        await ws.Client().PostJsonAsync("/api/v1/contacts/bulk", new
        {
            contacts = new object[] { new { email = "priya@shop.in", firstName = "Priya" }, new { email = "rahul@shop.in", firstName = "Rahul" }, new { email = "zed@other.com" } },
        });
        var r = await (await ws.Client().GetAsync("/api/v1/contacts?q=shop.in&limit=1&page=2")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(2, r.GetProperty("total").GetInt64());
        Assert.Equal(2, r.GetProperty("page").GetInt32());
        Assert.Equal(1, r.GetProperty("items").GetArrayLength());
        var byName = await (await ws.Client().GetAsync("/api/v1/contacts?q=priya")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("priya@shop.in", byName.GetProperty("items")[0].GetProperty("email").GetString());
    }
}
