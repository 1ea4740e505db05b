using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Herald.BrowserTests.PageSteps;

namespace Herald.BrowserTests;

/// <summary>
/// The asset pages in a real browser: an image uploaded to the media library (served at its public
/// address) and deleted again, a product that uses it, and the WhatsApp templates page before any sync.
/// Screenshots go to artifacts/screenshots (30-*).
/// </summary>
[Collection(PageSteps.Collection)]
public sealed class AssetPagesTests(BrowserHerald app, ITestOutputHelper output) : IClassFixture<BrowserHerald>
{
    /// <summary>A 2×2 PNG: the library decides the type from these bytes, not from the name.</summary>
    private static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEUlEQVR4nGP4zwAE/8EISAAAHfED/XkOi+8AAAAASUVORK5CYII=");

    [Fact]
    public async Task MediaProductsWhatsAppTemplates_EditorUploadsAndCatalogs_PagesShowIt()
    {
        var clock = Stopwatch.StartNew();
        await SetupWorkspaceAsync(app, "arun@example.com", "assets-pass-123", "Arun Editor", "Asset Shop", "Europe/Berlin");
        var page = await app.NewPageAsync();
        await SignInAsync(page, "arun@example.com", "assets-pass-123", "Arun Editor");

        // Media: empty, then an upload whose content is not an allowed type is refused in words, then a PNG is accepted.
        await NavAsync(page, "Media");
        await Expect(page.GetByText("No media yet")).ToBeVisibleAsync();
        await UploadAsync(page, new FilePayload { Name = "notes.png", MimeType = "image/png", Buffer = "just text"u8.ToArray() });
        await Expect(page.GetByTestId("media-error")).ToContainTextAsync("not a supported type");
        await UploadAsync(page, new FilePayload { Name = "diwali-banner.png", MimeType = "image/png", Buffer = Png });
        var row = page.GetByRole(AriaRole.Row).Filter(new() { HasText = "diwali-banner.png" });
        await Expect(row).ToContainTextAsync("image");
        await Expect(row).ToContainTextAsync(new Regex(@"\d{4}-\d\d-\d\d \d\d:\d\d Europe/Berlin"));
        await Expect(page.GetByTestId("media-error")).ToHaveCountAsync(0);
        var url = await row.GetByRole(AriaRole.Link).GetAttributeAsync("href");
        Assert.Matches("/media/[A-Za-z0-9_-]{32}$", url);
        // The address is built on Herald:PublicBaseUrl; this test server listens elsewhere, so only its path is fetched.
        using (var http = new HttpClient { BaseAddress = new Uri(app.BaseUrl) })
            Assert.Equal(Png, await http.GetByteArrayAsync(new Uri(url!).PathAndQuery));
        await ShotAsync(page, "30-media-library");

        // Products: one created with the uploaded image, then listed with its price.
        await NavAsync(page, "Products");
        await Expect(page.GetByText("No products yet")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "New product" }).ClickAsync();
        await page.GetByLabel("SKU", new() { Exact = true }).FillAsync("DIYA-01");
        await page.GetByLabel("Product name", new() { Exact = true }).FillAsync("Brass diya");
        await page.GetByLabel("Price", new() { Exact = true }).FillAsync("499");
        await SelectAsync(page, "Picture from the media library", "diwali-banner.png");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create product" }).ClickAsync();
        var product = page.GetByRole(AriaRole.Row).Filter(new() { HasText = "DIYA-01" });
        await Expect(product).ToContainTextAsync("Brass diya");
        await Expect(product).ToContainTextAsync("499 INR");
        await Expect(product.Locator("img")).ToHaveAttributeAsync("src", url!);
        await ShotAsync(page, "31-products");

        // The image a product uses cannot be deleted; the page says why.
        await NavAsync(page, "Media");
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete diwali-banner.png" }).ClickAsync();
        await page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        await Expect(page.GetByTestId("media-error")).ToContainTextAsync("is the image of product");
        await Expect(row).ToBeVisibleAsync();

        // WhatsApp templates: before a provider exists, the page says what to do, and Sync explains why it cannot.
        await NavAsync(page, "Channels");
        await page.GetByRole(AriaRole.Link, new() { Name = "WhatsApp templates" }).ClickAsync();
        await Expect(page.GetByText("No WhatsApp templates synced")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Sync from WhatsApp" }).ClickAsync();
        await Expect(page.GetByTestId("wa-error")).ToContainTextAsync("Configure a WhatsApp channel");
        await ShotAsync(page, "32-whatsapp-templates");

        output.WriteLine($"browser steps took {clock.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>As a user does: the button opens the file chooser, and the file is picked in it.</summary>
    private static async Task UploadAsync(IPage page, FilePayload file)
    {
        var chooser = await page.RunAndWaitForFileChooserAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Upload a file" }).ClickAsync());
        await chooser.SetFilesAsync(file);
    }

    private static ILocatorAssertions Expect(ILocator l) => Assertions.Expect(l);

    private Task ShotAsync(IPage page, string name) => PageSteps.ShotAsync(page, output, name);
}
