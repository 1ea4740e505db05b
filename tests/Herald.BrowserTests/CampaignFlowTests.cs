using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Herald.BrowserTests;

/// <summary>
/// The whole flow in a real browser: setup -> import a CSV -> build a segment -> create a campaign scheduled
/// 10 s ahead -> approve it as a second user -> watch it send live on the campaign page (never reloaded) -> see the
/// messages in the Outbox and the charts. Screenshots of each page go to artifacts/screenshots (30-…).
/// </summary>
public sealed class CampaignFlowTests(CampaignFlowHerald app, ITestOutputHelper output) : IClassFixture<CampaignFlowHerald>
{
    private const string Csv = """
        email,first_name,last_name,city,tags,plan
        asha@example.com,Asha,Verma,Mumbai,vip,gold
        ravi@example.com,Ravi,Shah,Mumbai,vip,gold
        meera@example.com,Meera,Iyer,Mumbai,vip,silver
        kabir@example.com,Kabir,Khan,Mumbai,vip,gold
        zara@example.com,Zara,Ali,Mumbai,vip,silver
        dev@example.com,Dev,Patel,Mumbai,vip,gold
        nina@example.com,Nina,Rao,Mumbai,,silver
        omar.b@example.com,Omar,Baig,Mumbai,new,
        priya.p@example.com,Priya,Pillai,Pune,vip,gold
        li@example.com,Li,Wei,Delhi,vip,
        sam@example.com,Sam,Roy,Chennai,,
        tara@example.com,Tara,Das,Kolkata,vip,gold
        not-an-email,Bad,Row,Mumbai,vip,gold
        """;

    [Fact]
    public async Task ImportSegmentCampaign_ApprovedBySecondUser_SendsLiveToOutboxWithCharts()
    {
        var clock = Stopwatch.StartNew();
        var page = await app.NewPageAsync();

        // First run: the admin and the workspace (India time), then an approver colleague.
        await BrowserHerald.FillFirstRunSetupAsync(page);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create and continue" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Welcome, Priya Admin" })).ToBeVisibleAsync();
        await page.GotoAsync("/settings/users");
        await page.GetByLabel("Email").FillAsync("omar@example.com");
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("Omar Approver");
        await page.GetByLabel("Password (new users)").FillAsync("approver-pass-1");
        await page.GetByRole(AriaRole.Radio, new() { Name = "approver" }).CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Add user" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Cell, new() { Name = "omar@example.com", Exact = true })).ToBeVisibleAsync();
        await NavAsync(page, "Settings");
        await page.GetByLabel("Campaigns need an approver before they run").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        await Expect(page.GetByText("Settings saved.")).ToBeVisibleAsync();

        // Import: the empty contacts page leads to the wizard; the mapping shows the first rows; one bad row is reported.
        await NavAsync(page, "Contacts");
        await Expect(page.GetByText("No contacts yet")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Import a CSV or Excel file" }).ClickAsync();
        var csvDir = Directory.CreateTempSubdirectory("herald-import-").FullName;
        var csvPath = Path.Combine(csvDir, "customers.csv");
        await File.WriteAllTextAsync(csvPath, Csv.Replace("\r\n", "\n") + "\n");
        await page.GetByLabel("CSV or Excel file").SetInputFilesAsync(csvPath);
        await Expect(page.GetByTestId("import-preview-row")).ToHaveCountAsync(5);
        await Expect(page.GetByText("13 rows")).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Map column plan")).ToContainTextAsync("attributes.plan");
        await Expect(page.GetByLabel("Map column first_name")).ToContainTextAsync("firstName");
        await ShotAsync(page, "30-import-mapping");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start import" }).ClickAsync();
        await Expect(page.GetByTestId("import-result")).ToContainTextAsync("12 created", new() { Timeout = 30_000 });
        await Expect(page.GetByTestId("import-result")).ToContainTextAsync("1 rejected");
        await Expect(page.GetByTestId("rejected-rows")).ToContainTextAsync("not-an-email");
        var errorsCsv = await page.APIRequest.GetAsync((await page.GetByTestId("errors-csv").GetAttributeAsync("href"))!);
        Assert.Equal(200, errorsCsv.Status);
        Assert.Contains("not a valid email", await errorsCsv.TextAsync());
        await ShotAsync(page, "31-import-result");
        Directory.Delete(csvDir, recursive: true);

        // Segment: the count and the sample follow each edit.
        await NavAsync(page, "Segments");
        await Expect(page.GetByText("No segments yet")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Build your first segment" }).ClickAsync();
        await page.GetByLabel("Segment name").FillAsync("Mumbai VIPs");
        await page.GetByLabel("Condition 1 value").FillAsync("Mumbai");
        await Expect(page.GetByTestId("audience-count")).ToHaveTextAsync("8");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add condition" }).ClickAsync();
        await ChooseAsync(page, "Condition 2 field", "Tags");
        await Expect(page.GetByLabel("Condition 2 operator")).ToContainTextAsync("has any of");
        await page.GetByLabel("Condition 2 value").FillAsync("vip");
        await Expect(page.GetByTestId("audience-count")).ToHaveTextAsync("6");
        await Expect(page.GetByTestId("audience-sample-row")).ToHaveCountAsync(6);
        await Expect(page.GetByTestId("audience-sample-row").Filter(new() { HasText = "Nina" })).ToHaveCountAsync(0);
        await ShotAsync(page, "32-segment-builder");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save segment" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/segments/\\d+$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Segment: Mumbai VIPs" })).ToBeVisibleAsync();

        // Campaign wizard: message, audience (live count), rate limit, a time 10 s ahead in the workspace's zone.
        await NavAsync(page, "Campaigns");
        await Expect(page.GetByText("No campaigns yet")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Create your first campaign" }).ClickAsync();
        await page.GetByLabel("Campaign name").FillAsync("Diwali VIP preview");
        await page.GetByLabel("Subject").FillAsync("Hello {{ contact.firstName }}, your Diwali offer");
        await page.GetByLabel("HTML body").FillAsync("<h1>Namaste {{ contact.firstName }}</h1><p>70% off for our VIPs in {{ contact.city }}.</p>");
        await ShotAsync(page, "33-campaign-message");
        await page.GetByRole(AriaRole.Button, new() { Name = "Next" }).ClickAsync();
        await page.GetByLabel("Mumbai VIPs", new() { Exact = true }).CheckAsync();
        await Expect(page.GetByTestId("audience-count")).ToHaveTextAsync("6");
        await ShotAsync(page, "34-campaign-audience");
        await page.GetByRole(AriaRole.Button, new() { Name = "Next" }).ClickAsync();
        // One message a second: slow enough to watch the campaign page mid-send.
        await page.GetByLabel("At most messages per second").FillAsync("1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Next" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Radio, new() { Name = "Once, at a time" })).ToBeCheckedAsync();
        await Expect(page.GetByLabel("Timezone (IANA, e.g. Asia/Kolkata)")).ToHaveValueAsync("Asia/Kolkata");
        var sendAt = TimeZoneInfo.ConvertTimeBySystemTimeZoneId(DateTime.UtcNow.AddSeconds(10), "Asia/Kolkata");
        await page.GetByLabel("Send at").FillAsync(sendAt.ToString("yyyy-MM-ddTHH:mm:ss"));
        await Expect(page.GetByTestId("schedule-words")).ToContainTextAsync($"once on {sendAt:yyyy-MM-dd HH:mm:ss} Asia/Kolkata");
        await ShotAsync(page, "35-campaign-schedule");
        await page.GetByRole(AriaRole.Button, new() { Name = "Next" }).ClickAsync();
        await Expect(page.GetByTestId("campaign-review")).ToContainTextAsync("segment “Mumbai VIPs”");
        await Expect(page.GetByTestId("campaign-review")).ToContainTextAsync("at most 1 per second");
        await ShotAsync(page, "36-campaign-review");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save and submit for approval" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/campaigns/\\d+$"));
        await Expect(page.GetByTestId("campaign-status")).ToHaveTextAsync("pending approval");
        await Expect(page.GetByText("You wrote this campaign: another approver must approve it.")).ToBeVisibleAsync();
        await ShotAsync(page, "37-campaign-waiting-approval");

        // The approver, in a second browser: an empty outbox so far, then the queue, then approve.
        var approver = await app.NewPageAsync();
        await approver.GotoAsync("/login");
        await approver.GetByLabel("Email").FillAsync("omar@example.com");
        await approver.GetByLabel("Password").FillAsync("approver-pass-1");
        await approver.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(approver.GetByTestId("current-user")).ToContainTextAsync("approver");
        await NavAsync(approver, "Approvals");
        var item = approver.GetByTestId("approval-item").Filter(new() { HasText = "Diwali VIP preview" });
        await Expect(item).ToContainTextAsync("Asia/Kolkata");
        await ShotAsync(approver, "38-approvals");
        await approver.GetByRole(AriaRole.Button, new() { Name = "Approve Diwali VIP preview" }).ClickAsync();
        await Expect(approver.GetByText("Nothing to approve")).ToBeVisibleAsync();

        // The author's campaign page, open since submission and never reloaded, follows the run as it goes.
        await Expect(page.GetByTestId("campaign-sent")).ToHaveTextAsync(new Regex("^[1-5]$"), new() { Timeout = 45_000 });
        await Expect(page.GetByTestId("campaign-status")).ToHaveTextAsync("running");
        await Expect(page.GetByTestId("campaign-total")).ToHaveTextAsync("6");
        await ShotAsync(page, "39-campaign-mid-send");
        await Expect(page.GetByTestId("campaign-status")).ToHaveTextAsync("completed", new() { Timeout = 45_000 });
        await Expect(page.GetByTestId("campaign-sent")).ToHaveTextAsync("6");
        await Expect(page.GetByTestId("campaign-failed")).ToHaveTextAsync("0");
        await Expect(page.GetByTestId("funnel-numbers")).ToContainTextAsync("Sent 6");
        var charts = page.GetByTestId("charts").GetByRole(AriaRole.Img);
        await Expect(charts).ToHaveCountAsync(2);
        await Expect(charts.First).ToContainTextAsync(sendAt.ToString("HH:", System.Globalization.CultureInfo.InvariantCulture));
        await Expect(charts.Nth(1)).ToContainTextAsync("Converted");
        await Expect(page.GetByTestId("deliveries")).ToContainTextAsync("asha@example.com");
        await ShotAsync(page, "40-campaign-completed-charts");

        // Outbox: the six emails, rendered, with the Liquid filled in per contact.
        await NavAsync(page, "Outbox");
        await Expect(page.GetByTestId("outbox-total")).ToHaveTextAsync("6 messages");
        await Expect(page.GetByTestId("outbox-subject").Filter(new() { HasText = "Hello Asha, your Diwali offer" })).ToHaveCountAsync(1);
        var frame = page.FrameLocator("iframe[title^='Email to asha@example.com']");
        await Expect(frame.GetByRole(AriaRole.Heading, new() { Name = "Namaste Asha" })).ToBeVisibleAsync();
        // Offscreen iframes are painted once scrolled to: scroll to the last one and back, so the full-page shot shows every email.
        await page.GetByTestId("outbox-message").Last.ScrollIntoViewIfNeededAsync();
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        await ShotAsync(page, "41-outbox");

        await NavAsync(page, "Campaigns");
        await Expect(page.GetByTestId("campaign-list")).ToContainTextAsync("completed");
        await ShotAsync(page, "42-campaigns-list");
        output.WriteLine($"flow took {clock.Elapsed.TotalSeconds:F0} s");
    }

    /// <summary>Opens a MudSelect by its label and picks the item with this text.</summary>
    private static async Task ChooseAsync(IPage page, string label, string item)
    {
        await page.GetByLabel(label).ClickAsync();
        await page.Locator(".mud-popover-open").GetByText(item, new() { Exact = true }).ClickAsync();
    }

    private static Task NavAsync(IPage page, string item) =>
        page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.Link, new() { Name = item, Exact = true }).ClickAsync();

    private static ILocatorAssertions Expect(ILocator l) => Assertions.Expect(l);
    private static IPageAssertions Expect(IPage p) => Assertions.Expect(p);

    private async Task ShotAsync(IPage page, string name)
    {
        var path = Path.Combine(BrowserHerald.ScreenshotDir, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        output.WriteLine($"screenshot: {path} at {DateTime.UtcNow:HH:mm:ss}");
    }
}
