using Herald.Auth;
using Herald.Contacts;
using Herald.Workspaces;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Herald.BrowserTests;

/// <summary>Steps the page tests share: a workspace made through the services, sign-in, the nav, MudSelect picks and screenshots.</summary>
public static class PageSteps
{
    /// <summary>The page tests run one after another: each starts a server and a browser, and the machine is small.</summary>
    public const string Collection = "dashboard pages";

    /// <summary>Sets up the first admin and workspace (as /setup does) and returns a caller to seed data with.</summary>
    public static async Task<Caller> SetupWorkspaceAsync(BrowserHerald app, string email, string password, string name, string workspace, string timezone)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var (user, ws) = await scope.ServiceProvider.GetRequiredService<WorkspaceService>().SetupAsync(email, password, name, workspace, timezone, default);
        return new Caller(ws.Id, Role.Admin, $"user:{user.Id}", user.Id);
    }

    public static async Task AddContactAsync(BrowserHerald app, Caller caller, ContactInput contact)
    {
        await using var scope = app.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<ContactService>().UpsertAsync(caller, contact, default);
    }

    public static async Task SignInAsync(IPage page, string email, string password, string welcomeName)
    {
        await page.GotoAsync("/login");
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"Welcome, {welcomeName}" })).ToBeVisibleAsync();
    }

    public static Task NavAsync(IPage page, string item) =>
        page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.Link, new() { Name = item, Exact = true }).ClickAsync();

    /// <summary>Opens a MudSelect by its label and picks an option.</summary>
    public static async Task SelectAsync(IPage page, string label, string option)
    {
        await page.GetByLabel(label, new() { Exact = true }).ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = option, Exact = true }).ClickAsync();
    }

    public static async Task ShotAsync(IPage page, ITestOutputHelper output, string name)
    {
        // The caller has already waited for what the shot must show (Blazor keeps a socket open, so "network idle" proves nothing).
        // A full-page shot of a scrolled page draws the fixed app bar mid-page.
        await page.EvaluateAsync("window.scrollTo(0, 0)");
        var path = Path.Combine(BrowserHerald.ScreenshotDir, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        output.WriteLine($"screenshot: {path}");
    }
}

[CollectionDefinition(PageSteps.Collection)]
public sealed class DashboardPagesCollection;
