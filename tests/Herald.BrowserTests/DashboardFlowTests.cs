using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Herald.BrowserTests;

/// <summary>
/// A new user's first session, in a real browser: setup, home, contacts, API key, a second user,
/// sign out and sign in as that user. Screenshots of each page go to artifacts/screenshots.
/// </summary>
public sealed class DashboardFlowTests(BrowserHerald app, ITestOutputHelper output) : IClassFixture<BrowserHerald>
{
    [Fact]
    public async Task FirstRun_SetupToApproverSignIn_EveryStepWorks()
    {
        var page = await app.NewPageAsync();

        // The root sends a fresh install to first-run setup.
        await BrowserHerald.FillFirstRunSetupAsync(page);
        await ShotAsync(page, "01-setup");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create and continue" }).ClickAsync();

        // Home: greeting, workspace, timezone and the getting-started steps.
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Welcome, Priya Admin" })).ToBeVisibleAsync();
        await Expect(page.GetByText("times shown in Asia/Kolkata")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("count-contacts")).ToHaveTextAsync("0");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Add a contact" })).ToBeVisibleAsync();
        await ShotAsync(page, "02-home-empty");

        // Contacts: the empty state, then a contact created through the dialog (a bad email is refused on its field).
        await NavAsync(page, "Contacts");
        await Expect(page.GetByText("No contacts yet")).ToBeVisibleAsync();
        await ShotAsync(page, "03-contacts-empty");
        await page.GetByRole(AriaRole.Button, new() { Name = "New contact" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog);
        await dialog.GetByLabel("First name", new() { Exact = true }).FillAsync("Asha");
        await dialog.GetByLabel("Last name", new() { Exact = true }).FillAsync("Verma");
        await dialog.GetByLabel("Email", new() { Exact = true }).FillAsync("asha-at-example");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Create contact" }).ClickAsync();
        await Expect(dialog.GetByTestId("dialog-error")).ToBeVisibleAsync();
        await Expect(dialog.Locator(".mud-input-error")).Not.ToHaveCountAsync(0);
        await ShotAsync(page, "04-contact-validation");
        await dialog.GetByLabel("Email", new() { Exact = true }).FillAsync("asha@example.com");
        await dialog.GetByLabel("Tags", new() { Exact = true }).FillAsync("vip, delhi");
        await dialog.GetByLabel("Attributes (JSON object)", new() { Exact = true }).FillAsync("{\"plan\": \"gold\"}");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Create contact" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Asha Verma" })).ToBeVisibleAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/contacts/\\d+$"));
        await Expect(page.GetByText("gold")).ToBeVisibleAsync();
        await Expect(page.GetByText("vip", new() { Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByText(new Regex("Asia/Kolkata")).First).ToBeVisibleAsync();
        await ShotAsync(page, "05-contact-detail");

        // Search finds it; the result opens its page.
        await NavAsync(page, "Contacts");
        await page.GetByLabel("Search by name, email, phone or external id").FillAsync("nobody-like-this");
        await Expect(page.GetByText("No contact matches")).ToBeVisibleAsync();
        await page.GetByLabel("Search by name, email, phone or external id").FillAsync("asha");
        var row = page.GetByRole(AriaRole.Link, new() { Name = "Asha Verma" });
        await Expect(row).ToBeVisibleAsync();
        await Expect(page.GetByText("asha@example.com")).ToBeVisibleAsync();
        await ShotAsync(page, "06-contacts-search");
        await row.ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Asha Verma" })).ToBeVisibleAsync();

        // Edit (a patch): change the city, drop a tag; the page shows the saved values.
        await page.GetByRole(AriaRole.Button, new() { Name = "Edit" }).ClickAsync();
        dialog = page.GetByRole(AriaRole.Dialog);
        await dialog.GetByLabel("City", new() { Exact = true }).FillAsync("New Delhi");
        await dialog.GetByLabel("Tags", new() { Exact = true }).FillAsync("vip");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Save changes" }).ClickAsync();
        await Expect(page.GetByText("New Delhi")).ToBeVisibleAsync();
        await Expect(page.GetByText("delhi", new() { Exact = true })).ToHaveCountAsync(0);

        // API key: shown once, and it really authenticates against the API.
        await NavAsync(page, "Settings");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Settings", Exact = true })).ToBeVisibleAsync();
        await page.GetByLabel("Default phone region").FillAsync("XX");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        await Expect(page.GetByTestId("settings-error")).ToContainTextAsync("defaultPhoneRegion");
        await page.GetByLabel("Default phone region").FillAsync("IN");
        await page.GetByLabel("Limit marketing messages per contact").CheckAsync();
        await page.GetByLabel("At most (messages)").FillAsync("2");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        await Expect(page.GetByText("Settings saved.")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("settings-error")).ToHaveCountAsync(0);
        await ShotAsync(page, "07-settings");
        await page.ReloadAsync();
        await Expect(page.GetByLabel("Default phone region")).ToHaveValueAsync("IN");
        await Expect(page.GetByLabel("At most (messages)")).ToHaveValueAsync("2");

        // A second workspace, and the switcher moves between them.
        await page.GetByLabel("New workspace name").FillAsync("Acme Wholesale");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create workspace" }).ClickAsync();
        await page.GetByTestId("workspace-switcher").ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Acme Wholesale" }).ClickAsync();
        await Expect(page.GetByTestId("workspace-switcher")).ToContainTextAsync("Acme Wholesale");
        await Expect(page.GetByTestId("count-contacts")).ToHaveTextAsync("0");
        await ShotAsync(page, "07b-switched-workspace");
        await page.GetByTestId("workspace-switcher").ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Acme Retail" }).ClickAsync();
        await Expect(page.GetByTestId("workspace-switcher")).ToContainTextAsync("Acme Retail");
        await Expect(page.GetByTestId("count-contacts")).ToHaveTextAsync("1");
        await NavAsync(page, "Settings");
        await ClickLinkAsync(page, page.GetByRole(AriaRole.Link, new() { Name = "API keys" }));
        await Expect(page.GetByText("No API keys yet")).ToBeVisibleAsync();
        await page.GetByLabel("Name").FillAsync("shop backend");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        var key = (await page.GetByTestId("new-key").InnerTextAsync()).Trim();
        Assert.True(key.Length >= 20, $"expected a key, got '{key}'");
        await Expect(page.GetByText("it is shown only this once")).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Cell, new() { Name = "shop backend", Exact = true })).ToBeVisibleAsync();
        await ShotAsync(page, "08-api-key-created");
        using (var http = new HttpClient { BaseAddress = new Uri(app.BaseUrl) })
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            var res = await http.GetAsync("/api/v1/contacts?q=asha");
            Assert.Equal(HttpStatusCode.OK, res.StatusCode);
            Assert.Contains("asha@example.com", await res.Content.ReadAsStringAsync());
        }
        await page.ReloadAsync();
        await Expect(page.GetByTestId("new-key")).ToHaveCountAsync(0);

        // A second user, as approver.
        await ClickLinkAsync(page, page.GetByRole(AriaRole.Link, new() { Name = "Users and roles" }));
        await page.GetByLabel("Email").FillAsync("omar@example.com");
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("Omar Approver");
        await page.GetByLabel("Password (new users)").FillAsync("approver-pass-1");
        await page.GetByRole(AriaRole.Radio, new() { Name = "approver" }).CheckAsync();
        await Expect(page.GetByRole(AriaRole.Radio, new() { Name = "approver" })).ToBeCheckedAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Add user" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Cell, new() { Name = "omar@example.com", Exact = true })).ToBeVisibleAsync();
        await ShotAsync(page, "09-users");

        // The audit log names what happened.
        await NavAsync(page, "Audit log");
        await Expect(page.GetByText("user.add", new() { Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByText("api_key.create", new() { Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByText("contact.create", new() { Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByText("contact.update", new() { Exact = true })).ToBeVisibleAsync();
        await ShotAsync(page, "10-audit-log");

        // Sign out, then in as the approver: no admin pages, read-only where they may not write.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/login"));
        await page.GotoAsync("/contacts");
        await Expect(page).ToHaveURLAsync(new Regex("/login\\?ReturnUrl=%2Fcontacts", RegexOptions.IgnoreCase));
        await page.GetByLabel("Email").FillAsync("omar@example.com");
        await page.GetByLabel("Password").FillAsync("approver-pass-1");
        await ShotAsync(page, "11-login");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Contacts", Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByTestId("current-user")).ToContainTextAsync("approver");
        await NavAsync(page, "Home");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Welcome, Omar Approver" })).ToBeVisibleAsync();
        await ShotAsync(page, "12-approver-home");
        await page.GotoAsync("/settings");
        await Expect(page.GetByText("this page is read-only for you")).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Save settings" })).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "API keys" })).ToHaveCountAsync(0);
        await ShotAsync(page, "13-approver-settings-readonly");
    }

    private static Task NavAsync(IPage page, string item) =>
        ClickLinkAsync(page, page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.Link, new() { Name = item, Exact = true }));

    /// <summary>
    /// Clicks a link and waits until the browser is at its address: Blazor navigates in place, and a
    /// second click made while the first navigation is still rendering (a busy machine) can be lost.
    /// </summary>
    private static async Task ClickLinkAsync(IPage page, ILocator link)
    {
        var href = await link.GetAttributeAsync("href") ?? throw new InvalidOperationException("link without href");
        await link.ClickAsync();
        var path = "/" + href.TrimStart('/');
        await page.WaitForURLAsync(url => new Uri(url).AbsolutePath == path);
    }

    private static ILocatorAssertions Expect(ILocator l) => Assertions.Expect(l);
    private static IPageAssertions Expect(IPage p) => Assertions.Expect(p);

    private async Task ShotAsync(IPage page, string name)
    {
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        var path = Path.Combine(BrowserHerald.ScreenshotDir, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        output.WriteLine($"screenshot: {path}");
    }
}
