using System.Net;
using System.Text.Json;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Audience;

/// <summary>
/// A Herald on a fake clock with five known contacts (externalIds a-e) in one workspace and a
/// decoy in another, so each filter's expected matches can be read off the seed.
/// </summary>
public sealed class AudienceFixture : HeraldApp
{
    public static readonly DateTimeOffset Now = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);

    public AudienceFixture() => UseFakeTime = Now.AddDays(-10);

    public TestWorkspace Ws { get; private set; } = null!;
    public Dictionary<string, string> Ids { get; } = new();

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Ws = await CreateWorkspaceAsync("audience", s => s.DefaultPhoneRegion = "IN");
        var c = Ws.Client();
        await Add(c, new
        {
            externalId = "a", email = "asha@example.com", phone = "+919876543210", firstName = "Asha", lastName = "Rao", city = "Mumbai", country = "IN",
            locale = "en-IN", timezone = "Asia/Kolkata", tags = new[] { "vip", "tech" },
            attributes = new { plan = "gold", score = 7, beta = true, signup = "2026-10-01", quality = "hot" },
        });
        await Add(c, new { externalId = "b", email = "ben@example.org", firstName = "Ben", city = "Pune", tags = new[] { "vip" }, attributes = new { plan = "silver", score = 3 }, consent = new { email = "unsubscribed" } });
        await Add(c, new { externalId = "c", email = "cara@example.com", firstName = "Cara", city = "Mumbai", attributes = new { plan = "free", quality = "warm" } });
        Clock!.Advance(TimeSpan.FromDays(10)); // now = Now: d and e are 10 days younger
        await Add(c, new { externalId = "d", phone = "+919812345678", tags = new[] { "tech" }, attributes = new { score = 10, quality = "warm" } });
        await Add(c, new { externalId = "e", email = "erin@test.io", firstName = "Erin", city = "Mumbai", region = "MH", tags = new[] { "gold", "tech" } });

        await Order(c, "a", 1000, -5);
        await Order(c, "a", 500, -7);
        await Order(c, "b", 200, -40);
        foreach (var days in new[] { -100, -120, -140, -160, -180 }) await Order(c, "d", 1800, days);
        await Order(c, "e", 50, -0.5);

        var other = await CreateWorkspaceAsync("decoy");
        await Add(other.Client(), new { externalId = "z", email = "zed@example.com", city = "Mumbai", tags = new[] { "vip" }, attributes = new { plan = "gold", quality = "hot" } });
    }

    private async Task Add(HttpClient c, object body)
    {
        var r = await (await c.PostJsonAsync("/api/v1/contacts", body)).ExpectAsync(HttpStatusCode.Created);
        Ids[r.GetProperty("externalId").GetString() ?? "?"] = r.GetProperty("id").GetString()!;
    }

    private async Task Order(HttpClient c, string who, decimal value, double days) =>
        await (await c.PostJsonAsync($"/api/v1/contacts/{Ids[who]}/events", new { type = "order", value, occurredAt = Now.AddDays(days) }))
            .ExpectAsync(HttpStatusCode.Created);

    /// <summary>The externalIds an audience selects (sorted), checked against the preview's count.</summary>
    public async Task<string> MatchAsync(object audience, TestWorkspace? ws = null)
    {
        var body = await (await (ws ?? Ws).Client(Auth.Role.Viewer).PostJsonAsync("/api/v1/audience/preview", new { audience })).ExpectAsync(HttpStatusCode.OK);
        var ids = body.GetProperty("sample").EnumerateArray().Select(x => x.GetProperty("externalId").GetString() ?? x.GetProperty("id").GetString()!).Order().ToList();
        Assert.Equal(body.GetProperty("count").GetInt64(), ids.Count);
        return string.Join(",", ids);
    }

    public Task<string> MatchFilterJsonAsync(string filterJson) =>
        MatchAsync(new { filter = JsonDocument.Parse(filterJson).RootElement });
}
