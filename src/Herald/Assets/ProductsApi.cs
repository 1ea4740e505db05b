using Herald.Audience;
using Herald.Auth;
using Herald.Common;
using Herald.Hosting;
using Microsoft.Extensions.Options;

namespace Herald.Assets;

/// <summary>/api/v1/products: CRUD and a synchronous CSV/XLSX import.</summary>
public static class ProductsApi
{
    /// <summary>Largest product import file. Catalogs are small; contacts have the asynchronous importer.</summary>
    public const long MaxImportBytes = 20 * 1024 * 1024;

    public static void MapProductsApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/v1/products").WithTags("Assets");

        g.MapPost("/", async (HttpContext http, ProductInput input, ProductService svc, CancellationToken ct) =>
        {
            var p = await svc.CreateAsync(http.Current(), input, ct);
            return TypedResults.Created($"/api/v1/products/{p.Id}", await svc.ToDtoAsync(p, ct));
        }).RequireRole(Role.Editor);

        g.MapGet("/", async (HttpContext http, string? q, int? page, int? limit, ProductService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.ListAsync(http.Current(), q, PageRequest.From(page, limit), ct))).RequireRole(Role.Viewer);

        g.MapGet("/{id:long}", async (HttpContext http, long id, ProductService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.ToDtoAsync(await svc.GetAsync(http.Current(), id, ct), ct))).RequireRole(Role.Viewer);

        g.MapPut("/{id:long}", async (HttpContext http, long id, ProductInput input, ProductService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.ToDtoAsync(await svc.UpdateAsync(http.Current(), id, input, ct), ct))).RequireRole(Role.Editor);

        g.MapDelete("/{id:long}", async (HttpContext http, long id, ProductService svc, CancellationToken ct) =>
        {
            await svc.DeleteAsync(http.Current(), id, ct);
            return TypedResults.NoContent();
        }).RequireRole(Role.Editor);

        g.MapPost("/import", async (HttpContext http, ProductService svc, IOptions<HeraldOptions> herald, CancellationToken ct) =>
        {
            var caller = http.Current();
            if (!http.Request.HasFormContentType) throw ValidationFailedException.For("file", "Send multipart/form-data with a file field.");
            var form = await http.Request.ReadFormAsync(ct);
            var file = form.Files.GetFile("file") ?? form.Files.FirstOrDefault() ?? throw ValidationFailedException.For("file", "Attach the CSV or XLSX file as 'file'.");
            if (file.Length == 0) throw ValidationFailedException.For("file", "The file is empty.");
            var head = new byte[4096];
            int n;
            await using (var s = file.OpenReadStream()) n = await s.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, ct);
            var format = ImportReaders.DetectFormat(file.FileName, head.AsSpan(0, n)) ?? throw ValidationFailedException.For("file", "The file is neither CSV nor XLSX.");
            // The readers work on a file path (XLSX needs to seek); the copy lives only for this request.
            var dir = Path.Combine(herald.Value.DataDirectory, "imports");
            Directory.CreateDirectory(dir);
            var path = Path.Combine(dir, $"products-{Guid.NewGuid():N}.{format}");
            try
            {
                await using (var target = File.Create(path))
                await using (var src = file.OpenReadStream())
                    await src.CopyToAsync(target, ct);
                return TypedResults.Ok(await svc.ImportAsync(caller, path, format, ct));
            }
            finally
            {
                File.Delete(path);
            }
        }).RequireRole(Role.Editor).DisableAntiforgery().WithMetadata(new BodySizeLimitAttribute(MaxImportBytes + 1024 * 1024));
    }
}
