using System.Net;
using System.Text;
using Herald.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Audience;

/// <summary>Every filter op against the seeded contacts a-e (see <see cref="AudienceFixture"/>), on the provider under test.</summary>
public sealed class FilterTests(AudienceFixture app) : IClassFixture<AudienceFixture>
{
    [Theory]
    // text
    [InlineData("""{"field":"city","op":"eq","value":"Mumbai"}""", "a,c,e")]
    [InlineData("""{"field":"city","op":"neq","value":"Mumbai"}""", "b,d")]
    [InlineData("""{"field":"city","op":"in","value":["Pune","Delhi"]}""", "b")]
    [InlineData("""{"field":"city","op":"nin","value":["Mumbai"]}""", "b,d")]
    [InlineData("""{"field":"email","op":"contains","value":"EXAMPLE"}""", "a,b,c")]
    [InlineData("""{"field":"email","op":"startsWith","value":"ca"}""", "c")]
    [InlineData("""{"field":"firstName","op":"contains","value":"SH"}""", "a")]
    [InlineData("""{"field":"email","op":"contains","value":"%"}""", "")]
    [InlineData("""{"field":"email","op":"exists"}""", "a,b,c,e")]
    [InlineData("""{"field":"email","op":"notExists"}""", "d")]
    [InlineData("""{"field":"email","op":"eq","value":"ASHA@example.com"}""", "a")]
    [InlineData("""{"field":"region","op":"eq","value":"MH"}""", "e")]
    [InlineData("""{"field":"lifecycle","op":"eq","value":"customer"}""", "a,b,d,e")]
    [InlineData("""{"field":"consent.email","op":"eq","value":"unsubscribed"}""", "b")]
    [InlineData("""{"field":"timezone","op":"eq","value":"Asia/Kolkata"}""", "a")]
    // numbers
    [InlineData("""{"field":"totalSpent","op":"gt","value":1500}""", "d")]
    [InlineData("""{"field":"totalSpent","op":"gte","value":1500}""", "a,d")]
    [InlineData("""{"field":"totalSpent","op":"lt","value":200}""", "c,e")]
    [InlineData("""{"field":"totalSpent","op":"lte","value":200}""", "b,c,e")]
    [InlineData("""{"field":"totalSpent","op":"between","value":[100,2000]}""", "a,b")]
    [InlineData("""{"field":"totalSpent","op":"eq","value":50}""", "e")]
    [InlineData("""{"field":"totalOrders","op":"in","value":[1,2]}""", "a,b,e")]
    [InlineData("""{"field":"totalOrders","op":"nin","value":[0,5]}""", "a,b,e")]
    [InlineData("""{"field":"totalOrders","op":"neq","value":1}""", "a,c,d")]
    [InlineData("""{"field":"engagementScore","op":"gte","value":6}""", "a")]
    // relative days (fake clock)
    [InlineData("""{"field":"lastOrderDays","op":"lte","value":7}""", "a,e")]
    [InlineData("""{"field":"lastOrderDays","op":"gte","value":30}""", "b,d")]
    [InlineData("""{"field":"lastOrderDays","op":"eq","value":5}""", "a")]
    [InlineData("""{"field":"lastOrderDays","op":"between","value":[30,60]}""", "b")]
    [InlineData("""{"field":"lastOrderDays","op":"gt","value":40}""", "d")]
    [InlineData("""{"field":"lastOrderDays","op":"lt","value":5}""", "e")]
    [InlineData("""{"field":"lastOrderDays","op":"notExists"}""", "c")]
    [InlineData("""{"field":"lastOrderAt","op":"withinLastDays","value":10}""", "a,e")]
    [InlineData("""{"field":"lastOrderAt","op":"olderThanDays","value":60}""", "d")]
    [InlineData("""{"field":"lastOrderAt","op":"gte","value":"2026-11-01T00:00:00Z"}""", "a,e")]
    [InlineData("""{"field":"lastOrderAt","op":"between","value":["2026-10-01","2026-10-31"]}""", "b")]
    [InlineData("""{"field":"createdAt","op":"withinLastDays","value":5}""", "d,e")]
    [InlineData("""{"field":"createdAt","op":"olderThanDays","value":5}""", "a,b,c")]
    // tags
    [InlineData("""{"field":"tags","op":"any","value":["vip","gold"]}""", "a,b,e")]
    [InlineData("""{"field":"tags","op":"all","value":["vip","TECH"]}""", "a")]
    [InlineData("""{"field":"tags","op":"contains","value":"tech"}""", "a,d,e")]
    [InlineData("""{"field":"tags","op":"nin","value":["vip"]}""", "c,d,e")]
    [InlineData("""{"field":"tags","op":"exists"}""", "a,b,d,e")]
    [InlineData("""{"field":"tags","op":"notExists"}""", "c")]
    // attributes
    [InlineData("""{"field":"attributes.plan","op":"eq","value":"gold"}""", "a")]
    [InlineData("""{"field":"attributes.plan","op":"neq","value":"gold"}""", "b,c,d,e")]
    [InlineData("""{"field":"attributes.plan","op":"in","value":["gold","silver"]}""", "a,b")]
    [InlineData("""{"field":"attributes.plan","op":"nin","value":["gold","silver"]}""", "c,d,e")]
    [InlineData("""{"field":"attributes.plan","op":"startsWith","value":"S"}""", "b")]
    [InlineData("""{"field":"attributes.plan","op":"contains","value":"re"}""", "c")]
    [InlineData("""{"field":"attributes.plan","op":"exists"}""", "a,b,c")]
    [InlineData("""{"field":"attributes.plan","op":"notExists"}""", "d,e")]
    [InlineData("""{"field":"attributes.score","op":"gt","value":5}""", "a,d")]
    [InlineData("""{"field":"attributes.score","op":"lte","value":7}""", "a,b")]
    [InlineData("""{"field":"attributes.score","op":"between","value":[3,7]}""", "a,b")]
    [InlineData("""{"field":"attributes.score","op":"eq","value":10}""", "d")]
    [InlineData("""{"field":"attributes.score","op":"in","value":[3,10]}""", "b,d")]
    [InlineData("""{"field":"attributes.plan","op":"gt","value":"g"}""", "a,b")]
    [InlineData("""{"field":"attributes.beta","op":"eq","value":true}""", "a")]
    [InlineData("""{"field":"attributes.signup","op":"olderThanDays","value":30}""", "a")]
    [InlineData("""{"field":"attributes.signup","op":"withinLastDays","value":30}""", "")]
    // trees
    [InlineData("""{"all":[{"any":[{"field":"city","op":"eq","value":"Pune"},{"field":"tags","op":"contains","value":"gold"}]},{"not":{"field":"totalSpent","op":"lt","value":100}}]}""", "b")]
    [InlineData("""{"not":{"field":"city","op":"eq","value":"Mumbai"}}""", "b,d")]
    [InlineData("""{"any":[]}""", "")]
    [InlineData("""{"all":[]}""", "a,b,c,d,e")]
    public async Task Filter_Op_SelectsTheMatchingContacts(string filter, string expected) =>
        Assert.Equal(expected, await app.MatchFilterJsonAsync(filter));

    [Fact]
    public async Task Filter_ShorthandFromApiMd_MeansTheSameAsAll()
    {
        var shorthand = await app.MatchFilterJsonAsync("""{"totalSpent":{"gte":1000},"quality":["hot","warm"],"city":"Mumbai"}""");
        var tree = await app.MatchFilterJsonAsync("""
            {"all":[{"field":"totalSpent","op":"gte","value":1000},{"field":"attributes.quality","op":"in","value":["hot","warm"]},{"field":"city","op":"eq","value":"Mumbai"}]}
            """);
        Assert.Equal("a", shorthand);
        Assert.Equal(tree, shorthand);
        Assert.Equal("a,c", await app.MatchFilterJsonAsync("""{"quality":["hot","warm"],"city":"Mumbai"}"""));
        Assert.Equal("b,d", await app.MatchFilterJsonAsync("""{"lastOrderDays":{"gte":30,"lte":200}}"""));
    }

    [Theory]
    [InlineData("""{"all":[{"field":"city","op":"eq","value":"x"},{"field":"city","op":"bogus","value":"y"}]}""", "filter.all[1].op")]
    [InlineData("""{"all":[{"field":"colour","op":"eq","value":"x"}]}""", "filter.all[0].field")]
    [InlineData("""{"field":"totalSpent","op":"gte","value":"a lot"}""", "filter.value")]
    [InlineData("""{"any":[{"not":{"field":"tags","op":"gt","value":1}}]}""", "filter.any[0].not.op")]
    [InlineData("""{"totalSpent":{"gte":"abc"}}""", "filter.totalSpent.gte")]
    [InlineData("""{"city":{"near":"Pune"}}""", "filter.city.near")]
    [InlineData("""{"field":"lastOrderDays","op":"lte","value":1.5}""", "filter.value")]
    [InlineData("""{"field":"createdAt","op":"gt","value":"yesterday"}""", "filter.value")]
    [InlineData("""{"field":"city","op":"in","value":"Pune"}""", "filter.value")]
    [InlineData("""{"field":"attributes.a.b","op":"eq","value":1}""", "filter.field")]
    [InlineData("""{"all":{"field":"city","op":"eq","value":"x"}}""", "filter.all")]
    public async Task Filter_Invalid_Answers400NamingThePath(string filter, string path)
    {
        var r = await app.Ws.Client().PostAsync("/api/v1/audience/preview",
            new StringContent("{\"audience\":{\"filter\":" + filter + "}}", Encoding.UTF8, "application/json"));
        var body = await r.ExpectAsync(HttpStatusCode.BadRequest);
        Assert.True(body.GetProperty("errors").TryGetProperty(path, out _), body.ToString());
    }

    [Fact]
    public async Task Compile_ReturnsOneParameterizedSelect_ThatEmbedsInAnInsertSelect()
    {
        var fragment = await app.WithScopeAsync(sp => sp.GetRequiredService<Herald.Audience.IAudienceQuery>().CompileAsync(app.Ws.Id,
            new Herald.Audience.AudienceDefinition { Filter = System.Text.Json.JsonDocument.Parse("""{"city":"Mumbai'; DROP TABLE contact; --"}""").RootElement }, default));
        Assert.StartsWith("SELECT c.id FROM contact c", fragment.Sql);
        Assert.DoesNotContain("DROP", fragment.Sql);
        Assert.All(fragment.Parameters, p => Assert.StartsWith("@a", p.Key));
        var injected = await app.MatchFilterJsonAsync("""{"city":"Mumbai'; DROP TABLE contact; --"}""");
        Assert.Equal("", injected);
        Assert.Equal("a,c,e", await app.MatchFilterJsonAsync("""{"city":"Mumbai"}"""));
    }
}
