using System.Net;
using System.Net.Http.Json;
using Herald.Auth;
using Herald.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Foundation;

/// <summary>
/// For every API endpoint: no key is 401, a role below the endpoint's is 403, and a key of another
/// workspace cannot read or change workspace A's resources (404).
/// </summary>
public sealed class AuthorizationMatrixTests(HeraldApp app) : IClassFixture<HeraldApp>
{
    [Fact]
    public void EveryMappedApiEndpoint_IsInTheCatalog()
    {
        var mapped = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/v1") == true)
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["*"])
                .Select(m => $"{m} {Normalize(e.RoutePattern.RawText!)}"))
            .ToHashSet();
        var catalog = EndpointCatalog.All.Select(e => $"{e.Method} {e.Route}").ToHashSet();
        Assert.Empty(mapped.Except(catalog));
        Assert.Empty(catalog.Except(mapped));
    }

    private static string Normalize(string route) =>
        System.Text.RegularExpressions.Regex.Replace(route.TrimEnd('/'), @"\{(\w+)(:[^}]*)?\}", "{$1}");

    public static TheoryData<string, string> Endpoints()
    {
        var d = new TheoryData<string, string>();
        foreach (var e in EndpointCatalog.All) d.Add(e.Method, e.Route);
        return d;
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Endpoint_WithoutKey_Answers401(string method, string route)
    {
        var entry = EndpointCatalog.All.Single(e => e.Method == method && e.Route == route);
        var r = await Send(app.ClientWithKey(null), entry, "1");
        Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        var bad = await Send(app.ClientWithKey("hk_not_a_real_key"), entry, "1");
        Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Endpoint_BelowItsRole_Answers403(string method, string route)
    {
        var entry = EndpointCatalog.All.Single(e => e.Method == method && e.Route == route);
        if (entry.MinRole == Role.Viewer) return; // every role may call it
        var a = await app.CreateWorkspaceAsync("A");
        var below = (Role)((int)entry.MinRole - 1);
        var id = await Seeds.CreateAsync(a, EndpointCatalog.ResourceOf(route));
        var r = await Send(a.Client(below), entry, id);
        Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Endpoint_FromAnotherWorkspace_CannotReachWorkspaceAData(string method, string route)
    {
        var entry = EndpointCatalog.All.Single(e => e.Method == method && e.Route == route);
        var a = await app.CreateWorkspaceAsync("A");
        var b = await app.CreateWorkspaceAsync("B");
        var resource = EndpointCatalog.ResourceOf(route);
        var id = await Seeds.CreateAsync(a, resource);
        var before = await Seeds.SnapshotAsync(a, resource, id);
        var r = await Send(b.Client(Role.Admin), entry, id);
        if (route.Contains("{id}"))
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        else if (method == "GET")
        {
            var body = await r.Content.ReadAsStringAsync();
            Assert.True(r.IsSuccessStatusCode, body);
            Assert.DoesNotContain(Seeds.Marker(a), body);
        }
        Assert.Equal(before, await Seeds.SnapshotAsync(a, resource, id));
    }

    private static async Task<HttpResponseMessage> Send(HttpClient client, EndpointCatalog.Entry e, string id)
    {
        var url = e.Route.Replace("{id}", id);
        var req = new HttpRequestMessage(new HttpMethod(e.Method), url);
        if (e.Body is not null) req.Content = JsonContent.Create(e.Body, options: HttpExtensions.Json);
        return await client.SendAsync(req);
    }
}
