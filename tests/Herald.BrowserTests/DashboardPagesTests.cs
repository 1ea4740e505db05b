using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Herald.Contacts;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Herald.BrowserTests.PageSteps;

namespace Herald.BrowserTests;

/// <summary>
/// An editor's content work in a real browser: a template written with its live preview (and a Liquid
/// error shown at its line), a webhook provider whose secret reads back masked and whose connection test
/// reaches a real receiver, and a journey (send, then wait) built step by step and activated.
/// Screenshots go to artifacts/screenshots (20-*).
/// </summary>
[Collection(PageSteps.Collection)]
public sealed class DashboardPagesTests(BrowserHerald app, ITestOutputHelper output) : IClassFixture<BrowserHerald>
{
    [Fact]
    public async Task TemplatesChannelsJourneys_EditorBuildsThem_EachPageShowsTheResult()
    {
        var clock = Stopwatch.StartNew();
        var caller = await SetupWorkspaceAsync(app, "mira@example.com", "pages-pass-123", "Mira Editor", "Pages Shop", "Asia/Kolkata");
        await AddContactAsync(app, caller, new ContactInput { FirstName = "Ravi", LastName = "Kumar", Email = "ravi@example.com" });
        using var receiver = new WebhookReceiver();
        var page = await app.NewPageAsync();
        await SignInAsync(page, "mira@example.com", "pages-pass-123", "Mira Editor");

        // Templates: the empty state says what a template is and leads to the editor.
        await NavAsync(page, "Templates");
        await Expect(page.GetByText("No templates yet")).ToBeVisibleAsync();
        await ShotAsync(page, "20-templates-empty");
        await page.GetByRole(AriaRole.Link, new() { Name = "Write your first template" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "New template" })).ToBeVisibleAsync();
        await page.GetByLabel("Template name").FillAsync("Order shipped");
        await SelectAsync(page, "Channel", "SMS");

        // The preview renders as the text is typed: first for the sample contact, then for a chosen one.
        var body = page.GetByLabel("SMS text");
        await body.FillAsync("Hi {{ contact.firstName }}, your order ships today");
        var preview = page.GetByTestId("preview-body");
        await Expect(preview).ToHaveTextAsync("Hi Asha, your order ships today");
        await Expect(page.GetByTestId("preview-for")).ToHaveTextAsync("Sample contact: Asha Verma");
        await page.GetByLabel("Find a contact").FillAsync("ravi");
        await SelectAsync(page, "Preview for", "Ravi Kumar <ravi@example.com>");
        await Expect(page.GetByTestId("preview-for")).ToHaveTextAsync("For Ravi Kumar");
        await Expect(preview).ToHaveTextAsync("Hi Ravi, your order ships today");
        await body.FillAsync("Hello {{ contact.firstName | upcase }} from {{ workspace.name }}");
        await Expect(preview).ToHaveTextAsync("Hello RAVI from Pages Shop");
        await ShotAsync(page, "21-template-preview");

        // A Liquid syntax error: named on the field with its line and column, the source line shown with a caret.
        await body.FillAsync("Hello {{ contact.firstName }}\nYour code: {% if %} ok");
        var liquidError = page.GetByTestId("liquid-error");
        await Expect(liquidError).ToContainTextAsync(new Regex(@"line 2, column \d+"));
        await Expect(liquidError.Locator("pre")).ToContainTextAsync("2 | Your code: {% if %} ok");
        await Expect(page.GetByText(new Regex(@"^Liquid error at line 2, column \d+$"))).ToBeVisibleAsync();
        await ShotAsync(page, "22-template-liquid-error");
        await body.FillAsync("Hi {{ contact.firstName | default: \"there\" }}, your order ships today");
        await Expect(liquidError).ToHaveCountAsync(0);
        await Expect(preview).ToHaveTextAsync("Hi Ravi, your order ships today");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create template" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/templates/\d+$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Order shipped" })).ToBeVisibleAsync();
        await NavAsync(page, "Templates");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Order shipped" })).ToBeVisibleAsync();
        await Expect(page.GetByText(new Regex(@"\d{4}-\d\d-\d\d \d\d:\d\d Asia/Kolkata"))).ToBeVisibleAsync();
        await ShotAsync(page, "23-templates-list");

        // Channels: no provider means the sandbox; a webhook provider is refused a short secret on its field,
        // then saved, read back masked, and its connection test reaches the receiver with a signed ping.
        await NavAsync(page, "Channels");
        await Expect(page.GetByTestId("sandbox-webhook")).ToContainTextAsync("go to the sandbox");
        await ShotAsync(page, "24-channels-empty");
        await page.GetByRole(AriaRole.Link, new() { Name = "Add a Webhook provider" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Add a Webhook provider" })).ToBeVisibleAsync();
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("CRM webhook");
        await page.GetByLabel("URL", new() { Exact = true }).FillAsync(receiver.Url);
        await page.GetByLabel("Signing secret").FillAsync("short");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create provider" }).ClickAsync();
        await Expect(page.GetByText("Give a secret of at least 16 characters.").First).ToBeVisibleAsync();
        await Expect(page.GetByTestId("channel-error")).ToHaveTextAsync("The provider was not saved. Please correct the highlighted fields.");
        await ShotAsync(page, "25-channel-validation");
        await page.GetByLabel("Signing secret").FillAsync("whsec-pages-test-9876");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create provider" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/channels/\d+$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "CRM webhook" })).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Signing secret")).ToHaveValueAsync("••••9876");
        await Expect(page.GetByLabel("URL", new() { Exact = true })).ToHaveValueAsync(receiver.Url);
        await page.GetByRole(AriaRole.Button, new() { Name = "Test connection" }).ClickAsync();
        await Expect(page.GetByTestId("connection-result")).ToContainTextAsync("Connection works.");
        await Expect(page.GetByTestId("connection-result")).ToContainTextAsync("answered 200");
        Assert.Contains(receiver.Requests, r => r.Body == """{"type":"ping"}""" && r.Signature?.StartsWith("t=", StringComparison.Ordinal) == true);
        await ShotAsync(page, "26-channel-saved-masked");
        // Saving again with the mask untouched keeps the secret: the next test still signs and passes.
        await page.GetByLabel("Per second").FillAsync("5");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save changes" }).ClickAsync();
        await Expect(page.GetByText("Provider saved.")).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Signing secret")).ToHaveValueAsync("••••9876");
        await page.GetByRole(AriaRole.Button, new() { Name = "Test connection" }).ClickAsync();
        await Expect(page.GetByTestId("connection-result")).ToContainTextAsync("Connection works.");
        await NavAsync(page, "Channels");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "CRM webhook" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Cell, new() { Name = "5/s" })).ToBeVisibleAsync();

        // Journeys: a send step with the template, then a wait of two days; created as a draft, then activated.
        await NavAsync(page, "Journeys");
        await Expect(page.GetByText("No journeys yet")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Build your first journey" }).ClickAsync();
        await page.GetByLabel("Journey name").FillAsync("Welcome series");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create journey" }).ClickAsync();
        await Expect(page.GetByTestId("journey-error")).ToContainTextAsync("steps: Give at least one step.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true }).ClickAsync();
        await SelectAsync(page, "Step 1 template", "Order shipped");
        await page.GetByRole(AriaRole.Button, new() { Name = "Wait", Exact = true }).ClickAsync();
        await page.GetByLabel("Step 2 wait", new() { Exact = true }).FillAsync("2");
        await Expect(page.GetByTestId("journey-step")).ToHaveCountAsync(2);
        await ShotAsync(page, "27-journey-editor");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create journey" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/journeys/\d+$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Welcome series" })).ToBeVisibleAsync();
        await Expect(page.GetByTestId("journey-status")).ToHaveTextAsync("draft");
        await Expect(page.GetByTestId("step-row").Nth(0)).ToContainTextAsync("Send SMS with template “Order shipped”");
        await Expect(page.GetByTestId("step-row").Nth(1)).ToContainTextAsync("Wait 2 days");
        await page.GetByRole(AriaRole.Button, new() { Name = "Activate" }).ClickAsync();
        await Expect(page.GetByTestId("journey-status")).ToHaveTextAsync("active");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Pause" })).ToBeVisibleAsync();
        await Expect(page.GetByText(new Regex(@"first activated \d{4}-\d\d-\d\d \d\d:\d\d Asia/Kolkata"))).ToBeVisibleAsync();
        await ShotAsync(page, "28-journey-active");
        await NavAsync(page, "Journeys");
        await Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = "Welcome series" })).ToContainTextAsync("active");
        await ShotAsync(page, "29-journeys-list");

        output.WriteLine($"browser steps took {clock.Elapsed.TotalSeconds:F1} s");
    }

    private static ILocatorAssertions Expect(ILocator l) => Assertions.Expect(l);
    private static IPageAssertions Expect(IPage p) => Assertions.Expect(p);

    private Task ShotAsync(IPage page, string name) => PageSteps.ShotAsync(page, output, name);

    /// <summary>A real HTTP receiver on a free loopback port that answers 200 and keeps what it got.</summary>
    private sealed class WebhookReceiver : IDisposable
    {
        private readonly HttpListener _listener = new();
        public ConcurrentQueue<(string Body, string? Signature)> Requests { get; } = new();
        public string Url { get; }

        public WebhookReceiver()
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            Url = $"http://127.0.0.1:{port}/hook/";
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _ = Task.Run(LoopAsync);
        }

        private async Task LoopAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext ctx;
                try { ctx = await _listener.GetContextAsync(); }
                catch (Exception) { return; }
                using (var reader = new StreamReader(ctx.Request.InputStream))
                    Requests.Enqueue((await reader.ReadToEndAsync(), ctx.Request.Headers["X-Herald-Signature"]));
                ctx.Response.StatusCode = 200;
                ctx.Response.Close();
            }
        }

        public void Dispose() => _listener.Close();
    }
}
