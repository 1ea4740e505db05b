using System.Net;
using System.Text;
using Herald.Auth;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Assets;

public sealed class ProductTests(HeraldApp app) : IClassFixture<HeraldApp>
{
    [Fact]
    public async Task Crud_ProductWithMediaImage_ReadsBackTheMediaUrl_DuplicateSku409()
    {
        var ws = await app.CreateWorkspaceAsync();
        var editor = ws.Client(Role.Editor);
        var (mediaId, url) = await AssetTestKit.UploadOkAsync(editor, AssetTestKit.Jpeg(), "hamper.jpg");

        var p = await (await editor.PostJsonAsync("/api/v1/products", new
        {
            sku = "HAMPER-1", name = "Festive hamper", price = 1499.5, currency = "inr", url = "https://shop.example/hamper", mediaId = long.Parse(mediaId),
        })).ExpectAsync(HttpStatusCode.Created);
        var id = p.GetProperty("id").GetString();
        Assert.Equal(url, p.GetProperty("imageUrl").GetString());
        Assert.Equal("INR", p.GetProperty("currency").GetString());
        Assert.Equal(1499.5m, p.GetProperty("price").GetDecimal());

        await (await editor.PostJsonAsync("/api/v1/products", new { sku = "HAMPER-1", name = "Again" })).ExpectAsync(HttpStatusCode.Conflict);
        var bad = await (await editor.PostJsonAsync("/api/v1/products", new { sku = "X", name = "Both", imageUrl = "https://a.example/x.png", mediaId = long.Parse(mediaId) }))
            .ExpectAsync(HttpStatusCode.BadRequest);
        Assert.True(bad.GetProperty("errors").TryGetProperty("imageUrl", out _));

        var put = await (await editor.PutJsonAsync($"/api/v1/products/{id}", new { sku = "HAMPER-1", name = "Deluxe hamper", imageUrl = "https://cdn.shop.example/deluxe.jpg" }))
            .ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("https://cdn.shop.example/deluxe.jpg", put.GetProperty("imageUrl").GetString());
        Assert.Equal(JsonNull, put.GetProperty("mediaId").ValueKind);
        var list = await (await ws.Client(Role.Viewer).GetAsync("/api/v1/products?q=Deluxe")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(1, list.GetProperty("total").GetInt32());

        await (await editor.DeleteAsync($"/api/v1/products/{id}")).ExpectAsync(HttpStatusCode.NoContent);
        await (await editor.GetAsync($"/api/v1/products/{id}")).ExpectAsync(HttpStatusCode.NotFound);
    }

    private const System.Text.Json.JsonValueKind JsonNull = System.Text.Json.JsonValueKind.Null;

    private static async Task<HttpResponseMessage> ImportAsync(HttpClient client, string csv)
    {
        using var form = new MultipartFormDataContent();
        form.Add(new ByteArrayContent(Encoding.UTF8.GetBytes(csv)), "file", "products.csv");
        return await client.PostAsync("/api/v1/products/import", form);
    }

    [Fact]
    public async Task Import_Csv_UpsertsBySkuAndReportsEachBadRowWithItsLine()
    {
        var ws = await app.CreateWorkspaceAsync();
        var editor = ws.Client(Role.Editor);
        const string csv = """
            SKU,Name,Price,Currency,URL,Image_URL
            TEA-1,Masala chai,249,INR,https://shop.example/chai,https://cdn.shop.example/chai.jpg
            TEA-2,Green tea,abc,INR,,
            TEA-3,,199,INR,,
            TEA-4,Oolong,399,RUPEES,,
            TEA-5,Darjeeling,599,INR,,https://cdn.shop.example/darj.jpg
            """;

        var result = await (await ImportAsync(editor, csv)).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(5, result.GetProperty("rowsRead").GetInt32());
        Assert.Equal(2, result.GetProperty("created").GetInt32());
        Assert.Equal(3, result.GetProperty("failed").GetInt32());
        var errors = result.GetProperty("errors").EnumerateArray().Select(e => (Line: e.GetProperty("line").GetInt64(), Reason: e.GetProperty("reason").GetString()!)).ToList();
        Assert.Equal([3L, 4L, 5L], errors.Select(e => e.Line));
        Assert.Contains("price", errors[0].Reason);
        Assert.Contains("name", errors[1].Reason);
        Assert.Contains("currency", errors[2].Reason);

        var again = await (await ImportAsync(editor, "sku,name,price\nTEA-1,Masala chai (500 g),299\n")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(0, again.GetProperty("created").GetInt32());
        Assert.Equal(1, again.GetProperty("updated").GetInt32());
        var list = await (await editor.GetAsync("/api/v1/products")).ExpectAsync(HttpStatusCode.OK);
        var chai = list.GetProperty("items").EnumerateArray().Single(p => p.GetProperty("sku").GetString() == "TEA-1");
        Assert.Equal("Masala chai (500 g)", chai.GetProperty("name").GetString());
        Assert.Equal(299m, chai.GetProperty("price").GetDecimal());
    }

    [Fact]
    public async Task Import_WithoutSkuColumn_Answers400()
    {
        var ws = await app.CreateWorkspaceAsync();
        var r = await ImportAsync(ws.Client(Role.Editor), "title,price\nChai,10\n");
        var problem = await r.ExpectAsync(HttpStatusCode.BadRequest);
        Assert.Contains("sku and name", problem.GetProperty("errors").GetProperty("file")[0].GetString());
    }

    [Fact]
    public async Task Campaign_WithUnknownProduct_Answers400_AndAProductInUseCannotBeDeleted()
    {
        var ws = await app.CreateWorkspaceAsync();
        var editor = ws.Client(Role.Editor);
        object Body(long productId) => new
        {
            name = "Product push", channel = "push", content = new { push = new { title = "{{ product.name }}", body = "Only {{ product.price }}" } },
            audience = new { all = true }, schedule = new { type = "once", at = DateTime.UtcNow.AddDays(1).ToString("yyyy-MM-ddTHH:mm:ss"), timezone = "UTC" }, productId,
        };

        var bad = await (await editor.PostJsonAsync("/api/v1/campaigns", Body(987654))).ExpectAsync(HttpStatusCode.BadRequest);
        Assert.Contains("no product 987654", bad.GetProperty("errors").GetProperty("productId")[0].GetString());

        var p = await (await editor.PostJsonAsync("/api/v1/products", new { sku = "P1", name = "Chai" })).ExpectAsync(HttpStatusCode.Created);
        var pid = long.Parse(p.GetProperty("id").GetString()!);
        var c = await (await editor.PostJsonAsync("/api/v1/campaigns", Body(pid))).ExpectAsync(HttpStatusCode.Created);
        await (await editor.PostAsync($"/api/v1/campaigns/{c.GetProperty("id").GetString()}/submit", null)).ExpectAsync(HttpStatusCode.OK);
        await (await editor.DeleteAsync($"/api/v1/products/{pid}")).ExpectAsync(HttpStatusCode.Conflict);
    }
}
