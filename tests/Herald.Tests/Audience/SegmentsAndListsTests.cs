using System.Net;
using Herald.Audience;
using Herald.Auth;
using Herald.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Audience;

public sealed class SegmentsAndListsTests(AudienceFixture app) : IClassFixture<AudienceFixture>
{
    private async Task<string> CreateSegmentAsync(object filter, string name = "seg")
    {
        var r = await (await app.Ws.Client(Role.Editor).PostJsonAsync("/api/v1/segments", new { name, filter })).ExpectAsync(HttpStatusCode.Created);
        return r.GetProperty("id").GetString()!;
    }

    private async Task<string> CreateListAsync(params string[] members)
    {
        var c = app.Ws.Client(Role.Editor);
        var id = (await (await c.PostJsonAsync("/api/v1/lists", new { name = "list" })).ExpectAsync(HttpStatusCode.Created)).GetProperty("id").GetString()!;
        if (members.Length > 0)
            await (await c.PostJsonAsync($"/api/v1/lists/{id}/members", new { contactIds = members.Select(m => long.Parse(app.Ids[m])) })).ExpectAsync(HttpStatusCode.OK);
        return id;
    }

    [Fact]
    public async Task Segment_Crud_RoundTripsTheFilterAndValidatesIt()
    {
        var c = app.Ws.Client(Role.Editor);
        var id = await CreateSegmentAsync(new { totalSpent = new { gte = 1000 } }, "big spenders");
        var got = await (await c.GetAsync($"/api/v1/segments/{id}")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("big spenders", got.GetProperty("name").GetString());
        Assert.Equal(1000, got.GetProperty("filter").GetProperty("totalSpent").GetProperty("gte").GetInt32());

        var bad = await (await c.PutJsonAsync($"/api/v1/segments/{id}", new { name = "x", filter = new { all = new object[] { new { field = "city", op = "eq", value = 5 } } } }))
            .ExpectAsync(HttpStatusCode.BadRequest);
        Assert.True(bad.GetProperty("errors").TryGetProperty("filter.all[0].value", out _), bad.ToString());

        await (await c.PutJsonAsync($"/api/v1/segments/{id}", new { name = "pune", filter = new { city = "Pune" } })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("b", await app.MatchAsync(new { segmentIds = new[] { long.Parse(id) } }));
        var list = await (await c.GetAsync("/api/v1/segments")).ExpectAsync(HttpStatusCode.OK);
        Assert.Contains(list.GetProperty("items").EnumerateArray(), s => s.GetProperty("id").GetString() == id);

        await (await c.DeleteAsync($"/api/v1/segments/{id}")).ExpectAsync(HttpStatusCode.NoContent);
        await (await c.GetAsync($"/api/v1/segments/{id}")).ExpectAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Audience_UnionOfIncludesMinusExcludes()
    {
        var mumbai = await CreateSegmentAsync(new { city = "Mumbai" });
        var vip = await CreateSegmentAsync(new { tags = new { any = new[] { "vip" } } });
        var list = await CreateListAsync("d");
        Assert.Equal("a,b,c,d,e", await app.MatchAsync(new { segmentIds = new[] { long.Parse(mumbai), long.Parse(vip) }, listIds = new[] { long.Parse(list) } }));
        Assert.Equal("c,d,e", await app.MatchAsync(new { segmentIds = new[] { long.Parse(mumbai) }, listIds = new[] { long.Parse(list) }, excludeSegmentIds = new[] { long.Parse(vip) } }));
        Assert.Equal("b,d", await app.MatchAsync(new { contactIds = new[] { long.Parse(app.Ids["b"]) }, listIds = new[] { long.Parse(list) } }));
        Assert.Equal("b,d", await app.MatchAsync(new { all = true, excludeSegmentIds = new[] { long.Parse(mumbai) } }));
        Assert.Equal("", await app.MatchAsync(new { filter = new { totalSpent = new { between = new[] { 1000, 2000 } } }, excludeSegmentIds = new[] { long.Parse(mumbai) }, contactIds = new[] { long.Parse(app.Ids["a"]) } }));
    }

    [Fact]
    public async Task Audience_ForeignOrMissingSegment_Answers400()
    {
        var other = await app.CreateWorkspaceAsync("other");
        var foreign = (await (await other.Client().PostJsonAsync("/api/v1/segments", new { name = "x", filter = new { city = "Mumbai" } })).ExpectAsync(HttpStatusCode.Created)).GetProperty("id").GetString()!;
        var r = await (await app.Ws.Client().PostJsonAsync("/api/v1/audience/preview", new { audience = new { segmentIds = new[] { long.Parse(foreign) } } })).ExpectAsync(HttpStatusCode.BadRequest);
        Assert.True(r.GetProperty("errors").TryGetProperty("segmentIds", out _), r.ToString());
        var empty = await (await app.Ws.Client().PostJsonAsync("/api/v1/audience/preview", new { audience = new { } })).ExpectAsync(HttpStatusCode.BadRequest);
        Assert.True(empty.GetProperty("errors").TryGetProperty("audience", out _), empty.ToString());
    }

    [Fact]
    public async Task Lists_Members_AddListRemove_AndContactsSearchBySegmentAndList()
    {
        var c = app.Ws.Client(Role.Editor);
        var list = await CreateListAsync("a", "c");
        var again = await (await c.PostJsonAsync($"/api/v1/lists/{list}/members", new { contactIds = new[] { long.Parse(app.Ids["a"]), long.Parse(app.Ids["e"]), 999_999 } })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(1, again.GetProperty("added").GetInt32());
        Assert.Equal(2, again.GetProperty("ignored").GetInt32());
        var members = await (await c.GetAsync($"/api/v1/lists/{list}/members")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(["a", "c", "e"], members.GetProperty("items").EnumerateArray().Select(x => x.GetProperty("externalId").GetString()!).Order().ToArray());

        var del = new HttpRequestMessage(HttpMethod.Delete, $"/api/v1/lists/{list}/members") { Content = System.Net.Http.Json.JsonContent.Create(new { contactIds = new[] { long.Parse(app.Ids["c"]) } }) };
        Assert.Equal(1, (await (await c.SendAsync(del)).ExpectAsync(HttpStatusCode.OK)).GetProperty("removed").GetInt32());

        var byList = await (await c.GetAsync($"/api/v1/contacts?listId={list}")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(2, byList.GetProperty("total").GetInt32());
        var seg = await CreateSegmentAsync(new { tags = "vip" });
        var bySegment = await (await c.GetAsync($"/api/v1/contacts?segmentId={seg}&q=ben")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("b", bySegment.GetProperty("items")[0].GetProperty("externalId").GetString());
        Assert.Equal(1, bySegment.GetProperty("total").GetInt32());
        var both = await (await c.GetAsync($"/api/v1/contacts?segmentId={seg}&listId={list}")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("a", both.GetProperty("items")[0].GetProperty("externalId").GetString());
        Assert.Equal(1, both.GetProperty("total").GetInt32());
        var lists = await (await c.GetAsync("/api/v1/lists")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(2, lists.GetProperty("items").EnumerateArray().First(l => l.GetProperty("id").GetString() == list).GetProperty("members").GetInt32());
    }

    [Fact]
    public async Task Preview_SampleIsAtMostTenContactDtos_CountIsAll()
    {
        var ws = await app.CreateWorkspaceAsync("many");
        var contacts = Enumerable.Range(0, 25).Select(i => new { email = $"p{i}@example.com", city = i % 2 == 0 ? "Goa" : "Pune" }).ToArray();
        await (await ws.Client().PostJsonAsync("/api/v1/contacts/bulk", new { contacts })).ExpectAsync(HttpStatusCode.OK);
        var body = await (await ws.Client(Role.Viewer).PostJsonAsync("/api/v1/audience/preview", new { audience = new { filter = new { city = "Goa" } } })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(13, body.GetProperty("count").GetInt32());
        Assert.Equal(10, body.GetProperty("sample").GetArrayLength());
        Assert.All(body.GetProperty("sample").EnumerateArray(), s => Assert.Equal("Goa", s.GetProperty("city").GetString()));
    }

    [Fact]
    public async Task Recipients_AreUpsertedDedupedByEmailAndPhone_AndBecomeContactIds()
    {
        var ws = await app.CreateWorkspaceAsync("recipients", s => s.DefaultPhoneRegion = "IN");
        var asha = (await (await ws.Client().PostJsonAsync("/api/v1/contacts", new { email = "asha@example.com" })).ExpectAsync(HttpStatusCode.Created)).GetProperty("id").GetString()!;
        var caller = ws.Caller(Role.Editor);
        var ids = await app.WithScopeAsync(sp => sp.GetRequiredService<AudienceRecipients>().ResolveAsync(caller,
        [
            new AdHocRecipient { Name = "Asha Again", Email = "ASHA@example.com" },
            new AdHocRecipient { Name = "New Person", Phone = "+919811111111" },
        ], default));
        Assert.Equal(2, ids.Count);
        Assert.Equal(long.Parse(asha), ids[0]);
        var again = await app.WithScopeAsync(sp => sp.GetRequiredService<AudienceRecipients>().ResolveAsync(caller, [new AdHocRecipient { Phone = "09811111111" }], default));
        Assert.Equal(ids[1], again.Single());
        var bad = await Assert.ThrowsAsync<Herald.Common.ValidationFailedException>(() => app.WithScopeAsync(sp =>
            sp.GetRequiredService<AudienceRecipients>().ResolveAsync(caller, [new AdHocRecipient { Email = "nope" }], default)));
        Assert.Contains("recipients[0].email", bad.Errors.Keys);
    }

    [Fact]
    public async Task CustomerMetricsJob_ScoresRfmQuintilesAndNamesSegments()
    {
        var result = await app.Services.GetRequiredService<CustomerMetricsJob>().RunOnceAsync(default);
        Assert.True(result.Buyers >= 4);
        // Buyers a (2 orders, 1500, 5 days), b (1, 200, 40 days), d (5, 9000, 100 days), e (1, 50, today).
        Assert.Equal("a", await app.MatchFilterJsonAsync("""{"field":"rfm.segment","op":"eq","value":"champions"}"""));
        Assert.Equal("d", await app.MatchFilterJsonAsync("""{"field":"rfm.segment","op":"eq","value":"cant_lose"}"""));
        Assert.Equal("e", await app.MatchFilterJsonAsync("""{"field":"rfm.segment","op":"eq","value":"new"}"""));
        Assert.Equal("d", await app.MatchFilterJsonAsync("""{"field":"rfm.frequency","op":"eq","value":5}"""));
        Assert.Equal("e", await app.MatchFilterJsonAsync("""{"field":"rfm.recency","op":"eq","value":5}"""));
        Assert.Equal("c", await app.MatchFilterJsonAsync("""{"field":"rfm.segment","op":"notExists"}"""));
        Assert.Equal("a", await app.MatchFilterJsonAsync("""{"engagementScore":{"gte":6}}"""));
    }
}
