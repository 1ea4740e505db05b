using System.Net;
using Herald.Assets;
using Herald.Auth;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Assets;

public sealed class DemoDataTests(HeraldApp app) : IClassFixture<HeraldApp>
{
    [Fact]
    public async Task Load_FillsContactsOrdersSegmentsTemplatesAndADraft_AndASecondLoadAddsNothing()
    {
        var ws = await app.CreateWorkspaceAsync();

        var first = await app.WithScopeAsync(sp => sp.GetRequiredService<DemoData>().LoadAsync(ws.Id, 400));
        var second = await app.WithScopeAsync(sp => sp.GetRequiredService<DemoData>().LoadAsync(ws.Id, 400));

        Assert.True(first.Loaded);
        Assert.Equal(400, first.Contacts);
        Assert.True(first.Orders > 400, $"{first.Orders} orders");
        Assert.False(second.Loaded);
        var client = ws.Client(Role.Viewer);
        var contacts = await (await client.GetAsync("/api/v1/contacts?limit=1")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(400, contacts.GetProperty("total").GetInt32());

        var segments = await (await client.GetAsync("/api/v1/segments")).ExpectAsync(HttpStatusCode.OK);
        var counts = new Dictionary<string, int>();
        foreach (var s in segments.GetProperty("items").EnumerateArray())
        {
            var preview = await (await client.PostJsonAsync("/api/v1/audience/preview", new { audience = new { segmentIds = new[] { long.Parse(s.GetProperty("id").GetString()!) } } }))
                .ExpectAsync(HttpStatusCode.OK);
            counts[s.GetProperty("name").GetString()!] = preview.GetProperty("count").GetInt32();
        }
        Assert.Equal(["Hot leads in Mumbai", "Lapsed customers", "VIP spenders"], counts.Keys.Order());
        Assert.All(counts, c => Assert.InRange(c.Value, 1, 399));
        var cities = await app.WithDbAsync(db => db.Contacts.Where(c => c.WorkspaceId == ws.Id).GroupBy(c => c.Country!).Select(g => new { g.Key, N = g.Count(), Cities = g.Select(c => c.City).Distinct().Count() }).ToListAsync());
        Assert.InRange(cities.Single(c => c.Key == "IN").N, 250, 360);
        Assert.True(cities.Single(c => c.Key == "IN").Cities >= 8, "contacts spread over the Indian cities");
        Assert.True(cities.Count >= 5, "and over other countries");

        var templates = await (await client.GetAsync("/api/v1/templates")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(["email", "push", "sms", "webhook", "whatsapp"],
            templates.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("channel").GetString()!).Order());
        var campaigns = await (await client.GetAsync("/api/v1/campaigns")).ExpectAsync(HttpStatusCode.OK);
        var draft = Assert.Single(campaigns.GetProperty("items").EnumerateArray());
        Assert.Equal("draft", draft.GetProperty("status").GetString());
    }
}
