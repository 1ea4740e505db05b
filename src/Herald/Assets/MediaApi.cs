using Herald.Auth;
using Herald.Common;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Herald.Assets;

/// <summary>/api/v1/media (the library) and /media/{key} (public, no API key: what WhatsApp and browsers fetch).</summary>
public static class MediaApi
{
    public static void MapMediaApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/v1/media").WithTags("Assets");

        g.MapPost("/", async (HttpContext http, MediaService svc, IOptions<MediaOptions> options, CancellationToken ct) =>
        {
            var caller = http.Current();
            if (!http.Request.HasFormContentType) throw ValidationFailedException.For("file", "Send multipart/form-data with a file field.");
            var form = await http.Request.ReadFormAsync(ct);
            var file = form.Files.GetFile("file") ?? form.Files.FirstOrDefault() ?? throw ValidationFailedException.For("file", "Attach the file as 'file'.");
            if (file.Length > options.Value.Largest)
                return TooLarge($"The file is {file.Length:N0} bytes; the largest media accepted is {options.Value.Largest:N0} bytes.");
            await using var stream = file.OpenReadStream();
            try
            {
                var item = await svc.UploadAsync(caller, stream, file.Length, file.FileName, ct);
                return TypedResults.Created($"/api/v1/media/{item.Id}", svc.ToDto(item));
            }
            catch (MediaTooLargeException e)
            {
                return TooLarge(e.Message);
            }
        }).RequireRole(Role.Editor).DisableAntiforgery()
            // The largest kind plus multipart framing; each kind's own limit is checked once the type is known.
            .WithMetadata(new BodySizeLimitAttribute(100L * 1024 * 1024 + 1024 * 1024));

        g.MapGet("/", async (HttpContext http, string? kind, int? page, int? limit, MediaService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.ListAsync(http.Current(), kind, PageRequest.From(page, limit), ct))).RequireRole(Role.Viewer);

        g.MapGet("/{id:long}", async (HttpContext http, long id, MediaService svc, CancellationToken ct) =>
            TypedResults.Ok(svc.ToDto(await svc.GetAsync(http.Current(), id, ct)))).RequireRole(Role.Viewer);

        g.MapDelete("/{id:long}", async (HttpContext http, long id, MediaService svc, CancellationToken ct) =>
        {
            await svc.DeleteAsync(http.Current(), id, ct);
            return TypedResults.NoContent();
        }).RequireRole(Role.Editor);

        // Public: the key is 192 random bits, so the URL is the capability. Bytes never change under a key,
        // hence a year of caching, immutable, and the content hash as ETag.
        app.MapGet("/media/{key}", async (HttpContext http, string key, HeraldDb db, IMediaStore store, CancellationToken ct) =>
        {
            var item = await db.Set<MediaItem>().AsNoTracking().FirstOrDefaultAsync(m => m.Key == key, ct);
            if (item is null) return Results.NotFound();
            var etag = new EntityTagHeaderValue($"\"{item.Sha256}\"");
            http.Response.Headers.CacheControl = "public, max-age=31536000, immutable";
            http.Response.Headers.XContentTypeOptions = "nosniff";
            if (http.Request.Headers.IfNoneMatch.ToString() is { Length: > 0 } inm && inm.Split(',').Any(t => t.Trim() == etag.Tag.ToString() || t.Trim() == "*"))
            {
                http.Response.Headers.ETag = etag.Tag.ToString();
                return Results.StatusCode(StatusCodes.Status304NotModified);
            }
            var stream = await store.OpenReadAsync(item.Key, ct);
            if (stream is null) return Results.NotFound();
            return Results.Stream(stream, item.ContentType, lastModified: new DateTimeOffset(DateTime.SpecifyKind(item.CreatedAt, DateTimeKind.Utc)),
                entityTag: etag, enableRangeProcessing: true);
        }).AllowAnonymous().ExcludeFromDescription();
    }

    private static IResult TooLarge(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status413PayloadTooLarge, title: "The file is too large.");
}
