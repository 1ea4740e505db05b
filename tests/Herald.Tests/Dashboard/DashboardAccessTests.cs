using System.Net;
using System.Text.RegularExpressions;
using Herald.Tests.Infrastructure;
using Herald.Workspaces;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Dashboard;

/// <summary>The dashboard's entry rules at the HTTP level (the browser suite drives the pages themselves).</summary>
public sealed class DashboardAccessTests
{
    // HeraldApp.DisposeAsync (which also drops the database) hides the base one, so it is called by name.
    private static async Task WithAppAsync(Func<HeraldApp, Task> test)
    {
        var app = new HeraldApp();
        await app.InitializeAsync();
        try { await test(app); }
        finally { await app.DisposeAsync(); }
    }

    private static HttpClient NoRedirects(HeraldApp app) => app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

    [Fact]
    public Task Root_FreshInstall_LeadsToSetup() => WithAppAsync(async app =>
    {
        var client = NoRedirects(app);

        var root = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, root.StatusCode);
        Assert.StartsWith("/login", root.Headers.Location!.PathAndQuery);
        var login = await client.GetAsync(root.Headers.Location);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Equal("/setup", login.Headers.Location!.OriginalString);
    });

    [Fact]
    public Task DashboardPages_SignedOut_RedirectToLogin_SignedIn_ServeTheApp() => WithAppAsync(async app =>
    {
        await app.WithScopeAsync(sp => sp.GetRequiredService<WorkspaceService>().SetupAsync("ann@example.com", "long-password", "Ann", "Shop", "UTC", default));
        var client = NoRedirects(app);

        foreach (var path in new[] { "/", "/contacts", "/contacts/1", "/contacts/import", "/settings", "/settings/users", "/settings/api-keys", "/audit",
            "/segments", "/segments/new", "/segments/1", "/campaigns", "/campaigns/new", "/campaigns/1", "/campaigns/1/edit", "/approvals", "/outbox",
            "/templates", "/templates/new", "/templates/1", "/journeys", "/journeys/new", "/journeys/1", "/journeys/1/edit", "/channels", "/channels/new",
            "/channels/1", "/channels/whatsapp/templates", "/media", "/products" })
        {
            var r = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
            Assert.Equal("/login", r.Headers.Location!.AbsolutePath);
        }

        // Sign in through the real form (antiforgery token from the page, cookie kept by the client).
        var form = await (await client.GetAsync("/login")).Content.ReadAsStringAsync();
        var token = Regex.Match(form, "name=\"(__RequestVerificationToken[^\"]*)\" value=\"([^\"]+)\"");
        Assert.True(token.Success, "the login form carries an antiforgery token");
        var signIn = await client.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            [token.Groups[1].Value] = WebUtility.HtmlDecode(token.Groups[2].Value), ["email"] = "ann@example.com", ["password"] = "long-password", ["returnUrl"] = "/contacts",
        }));
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.Equal("/contacts", signIn.Headers.Location!.OriginalString);

        var page = await client.GetAsync("/contacts");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("_framework/blazor.web.js", await page.Content.ReadAsStringAsync());
        // The package assets the pages need are served outside Development too (HeraldApp runs as "Testing").
        foreach (var asset in new[] { "/_framework/blazor.web.js", "/_content/MudBlazor/MudBlazor.min.css", "/_content/MudBlazor/MudBlazor.min.js", "/dashboard.css" })
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(asset)).StatusCode);
    });
}
