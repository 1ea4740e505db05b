using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Herald.BrowserTests;

/// <summary>
/// The real Herald on a real Kestrel socket (127.0.0.1, free port), SQLite in a temp directory, and
/// Debian's chromium driven by Playwright (never `playwright install`: HERALD_CHROMIUM or /usr/bin/chromium).
/// </summary>
public class BrowserHerald : WebApplicationFactory<Program>, IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "herald-browser", Guid.NewGuid().ToString("N"));
    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;
    public string BaseUrl { get; private set; } = "";

    /// <summary>artifacts/screenshots under the repository root.</summary>
    public static string ScreenshotDir { get; } = Path.Combine(RepoRoot(), "artifacts", "screenshots");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        Directory.CreateDirectory(ScreenshotDir);
        UseKestrel(0);
        StartServer();
        BaseUrl = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .First(a => a.StartsWith("http://", StringComparison.Ordinal)).TrimEnd('/');
        // The machine may be busy (parallel builds); the first circuit also pays for JIT. Generous, not sleepy.
        Assertions.SetDefaultExpectTimeout(20_000);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("HERALD_CHROMIUM") is { Length: > 0 } p ? p : "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"],
        });
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // Production, as a user runs it: package assets (MudBlazor, blazor.web.js) must still be served from the build output.
        builder.UseEnvironment("Production");
        builder.UseSetting("Urls", "http://127.0.0.1:0");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        builder.UseSetting("Herald:Database:Provider", "sqlite");
        builder.UseSetting("Herald:Database:ConnectionString", $"Data Source={Path.Combine(_dir, "herald.db")}");
        builder.UseSetting("Herald:DataDirectory", _dir);
        builder.UseSetting("Herald:Roles", "web");
    }

    public async Task<IPage> NewPageAsync()
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseUrl, ViewportSize = new ViewportSize { Width = 1360, Height = 900 }, Locale = "en-US",
        });
        context.SetDefaultTimeout(20_000);
        return await context.NewPageAsync();
    }

    /// <summary>
    /// A fresh install: the root leads to first-run setup, filled with the admin Priya (priya@example.com,
    /// correct-horse-1) and the workspace "Acme Retail" in Asia/Kolkata. The caller submits it.
    /// </summary>
    public static async Task FillFirstRunSetupAsync(IPage page)
    {
        await page.GotoAsync("/");
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/setup$"));
        await page.GetByLabel("Your name").FillAsync("Priya Admin");
        await page.GetByLabel("Email").FillAsync("priya@example.com");
        await page.GetByLabel("Password (8+ characters)").FillAsync("correct-horse-1");
        await page.GetByLabel("Workspace name").FillAsync("Acme Retail");
        await page.GetByLabel("Timezone").FillAsync("Asia/Kolkata");
    }

    public new async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        _playwright?.Dispose();
        await base.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Herald.slnx"))) return d.FullName;
        return AppContext.BaseDirectory;
    }
}
