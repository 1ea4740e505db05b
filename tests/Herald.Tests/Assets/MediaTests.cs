using System.Net;
using System.Text;
using Herald.Auth;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Assets;

public sealed class MediaTests(HeraldApp app) : IClassFixture<HeraldApp>
{
    [Fact]
    public async Task Upload_ScriptNamedAsJpeg_IsRejectedWhateverTheNameAndDeclaredType()
    {
        var ws = await app.CreateWorkspaceAsync();
        var html = Encoding.UTF8.GetBytes("<html><script>alert(document.cookie)</script></html>");

        var r = await AssetTestKit.UploadAsync(ws.Client(Role.Editor), html, "holiday-photo.jpg", "image/jpeg");

        var problem = await r.ExpectAsync(HttpStatusCode.BadRequest);
        var message = problem.GetProperty("errors").GetProperty("file")[0].GetString()!;
        Assert.Contains("not a supported type", message);
        Assert.Contains("holiday-photo.jpg", message);
        var list = await (await ws.Client().GetAsync("/api/v1/media")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(0, list.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task Upload_PngNamedAsPdf_IsStoredAsPng()
    {
        var ws = await app.CreateWorkspaceAsync();

        var j = await (await AssetTestKit.UploadAsync(ws.Client(Role.Editor), AssetTestKit.Png(), "invoice.pdf", "application/pdf")).ExpectAsync(HttpStatusCode.Created);

        Assert.Equal("image/png", j.GetProperty("contentType").GetString());
        Assert.Equal("image", j.GetProperty("kind").GetString());
        Assert.Equal("invoice.pdf", j.GetProperty("fileName").GetString());
    }

    [Fact]
    public async Task Upload_ImageOverFiveMegabytes_Answers413_ButAVideoOfTheSameSizeIsAccepted()
    {
        var ws = await app.CreateWorkspaceAsync();
        const int size = 5 * 1024 * 1024 + 1;

        var image = await AssetTestKit.UploadAsync(ws.Client(Role.Editor), AssetTestKit.Jpeg(size), "big.jpg");
        var problem = await image.ExpectAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("images may be at most 5,242,880 bytes", problem.GetProperty("detail").GetString());

        var video = await (await AssetTestKit.UploadAsync(ws.Client(Role.Editor), AssetTestKit.Mp4(size), "clip.bin")).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal("video/mp4", video.GetProperty("contentType").GetString());
        Assert.Equal(size, video.GetProperty("size").GetInt64());
    }

    [Fact]
    public async Task Upload_OfficeDocuments_AreToldApartByTheirParts_PlainZipRejected()
    {
        var ws = await app.CreateWorkspaceAsync();
        var editor = ws.Client(Role.Editor);

        var docx = await (await AssetTestKit.UploadAsync(editor, AssetTestKit.Zip("[Content_Types].xml", "word/document.xml"), "a.zip")).ExpectAsync(HttpStatusCode.Created);
        var xlsx = await (await AssetTestKit.UploadAsync(editor, AssetTestKit.Zip("[Content_Types].xml", "xl/workbook.xml"), "b.docx")).ExpectAsync(HttpStatusCode.Created);
        var pdf = await (await AssetTestKit.UploadAsync(editor, Encoding.ASCII.GetBytes("%PDF-1.7\n%...."), "c")).ExpectAsync(HttpStatusCode.Created);

        Assert.Equal("application/vnd.openxmlformats-officedocument.wordprocessingml.document", docx.GetProperty("contentType").GetString());
        Assert.Equal("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xlsx.GetProperty("contentType").GetString());
        Assert.Equal("application/pdf", pdf.GetProperty("contentType").GetString());
        Assert.Equal("document", pdf.GetProperty("kind").GetString());
        await (await AssetTestKit.UploadAsync(editor, AssetTestKit.Zip("payload.exe"), "report.docx")).ExpectAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task PublicUrl_WithoutKey_ServesBytesWithContentTypeLongCacheAndEtag()
    {
        var ws = await app.CreateWorkspaceAsync();
        var bytes = AssetTestKit.Png(300);
        var (_, url) = await AssetTestKit.UploadOkAsync(ws.Client(Role.Editor), bytes, "logo.png");
        Assert.StartsWith("http://herald.test/media/", url);
        var path = new Uri(url).AbsolutePath;
        Assert.True(path.Length > "/media/".Length + 30, "the key must be long enough not to be guessed");

        var anonymous = app.ClientWithKey(null);
        var r = await anonymous.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("image/png", r.Content.Headers.ContentType!.MediaType);
        Assert.Equal(bytes, await r.Content.ReadAsByteArrayAsync());
        Assert.Contains("max-age=31536000", r.Headers.CacheControl!.ToString());
        Assert.True(r.Headers.CacheControl.Public);
        var etag = r.Headers.ETag!;
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), etag.Tag.Trim('"'));

        var again = new HttpRequestMessage(HttpMethod.Get, path);
        again.Headers.IfNoneMatch.Add(etag);
        Assert.Equal(HttpStatusCode.NotModified, (await anonymous.SendAsync(again)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync(path[..^2] + "zz")).StatusCode);
    }

    [Fact]
    public async Task Delete_MediaOfAnApprovedCampaign_Answers409_UntilTheCampaignIsCancelled()
    {
        var ws = await app.CreateWorkspaceAsync();
        var editor = ws.Client(Role.Editor);
        var (mediaId, url) = await AssetTestKit.UploadOkAsync(editor, AssetTestKit.Png(), "banner.png");
        var at = DateTime.UtcNow.AddDays(2).ToString("yyyy-MM-ddTHH:mm:ss");
        var campaign = await (await editor.PostJsonAsync("/api/v1/campaigns", new
        {
            name = "With banner", channel = "push", content = new { push = new { title = "Sale", body = "Now" } }, audience = new { all = true },
            schedule = new { type = "once", at, timezone = "UTC" }, mediaId = long.Parse(mediaId),
        })).ExpectAsync(HttpStatusCode.Created);
        var id = campaign.GetProperty("id").GetString();
        Assert.Equal(mediaId, campaign.GetProperty("mediaId").GetString());
        var submitted = await (await editor.PostAsync($"/api/v1/campaigns/{id}/submit", null)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("approved", submitted.GetProperty("status").GetString());

        var conflict = await (await editor.DeleteAsync($"/api/v1/media/{mediaId}")).ExpectAsync(HttpStatusCode.Conflict);
        Assert.Contains($"campaign {id}", conflict.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, (await app.ClientWithKey(null).GetAsync(new Uri(url).AbsolutePath)).StatusCode);

        await (await editor.PostAsync($"/api/v1/campaigns/{id}/cancel", null)).ExpectAsync(HttpStatusCode.OK);
        await (await editor.DeleteAsync($"/api/v1/media/{mediaId}")).ExpectAsync(HttpStatusCode.NoContent);
        Assert.Equal(HttpStatusCode.NotFound, (await app.ClientWithKey(null).GetAsync(new Uri(url).AbsolutePath)).StatusCode);
    }

    [Fact]
    public async Task Campaign_WithMediaOfAnotherWorkspace_Answers400NamingMediaId()
    {
        var a = await app.CreateWorkspaceAsync("A");
        var b = await app.CreateWorkspaceAsync("B");
        var (mediaId, _) = await AssetTestKit.UploadOkAsync(a.Client(Role.Editor), AssetTestKit.Png(), "a.png");

        var r = await b.Client(Role.Editor).PostJsonAsync("/api/v1/campaigns", new
        {
            name = "Borrowed", channel = "push", content = new { push = new { title = "x", body = "y" } }, audience = new { all = true },
            schedule = new { type = "now" }, mediaId = long.Parse(mediaId),
        });

        var problem = await r.ExpectAsync(HttpStatusCode.BadRequest);
        Assert.Contains($"no media {mediaId}", problem.GetProperty("errors").GetProperty("mediaId")[0].GetString());
    }
}
