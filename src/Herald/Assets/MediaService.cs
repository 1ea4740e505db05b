using System.Globalization;
using System.Security.Cryptography;
using Herald.Audit;
using Herald.Auth;
using Herald.Campaigns;
using Herald.Common;
using Herald.Hosting;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Herald.Assets;

/// <summary>Upload limits per media kind (section <c>Herald:Media</c>); defaults are WhatsApp's Cloud API limits.</summary>
public sealed class MediaOptions
{
    public const string Section = "Herald:Media";

    /// <summary>Largest image, in bytes. Default: 5 MB.</summary>
    public long MaxImageBytes { get; set; } = 5 * 1024 * 1024;

    /// <summary>Largest video, in bytes. Default: 16 MB.</summary>
    public long MaxVideoBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Largest document, in bytes. Default: 100 MB.</summary>
    public long MaxDocumentBytes { get; set; } = 100 * 1024 * 1024;

    public long LimitFor(string kind) => kind switch
    {
        MediaKinds.Image => MaxImageBytes,
        MediaKinds.Video => MaxVideoBytes,
        _ => MaxDocumentBytes,
    };

    public long Largest => Math.Max(MaxImageBytes, Math.Max(MaxVideoBytes, MaxDocumentBytes));
}

public sealed record MediaDto(string Id, string Kind, string ContentType, string? FileName, long Size, string Url, DateTime CreatedAt);

/// <summary>Thrown when an upload is larger than its kind allows; answered 413 naming the limit.</summary>
public sealed class MediaTooLargeException(string message) : Exception(message);

/// <summary>The media library: upload (type from the bytes, size per kind), list, delete (refused while in use).</summary>
public sealed class MediaService(HeraldDb db, IMediaStore store, AuditLog audit, TimeProvider clock, IOptions<MediaOptions> options, IOptions<HeraldOptions> herald)
{
    /// <summary>Campaign statuses in which a campaign's media must stay available.</summary>
    public static readonly string[] InUseStatuses = [CampaignStatus.PendingApproval, .. CampaignStateMachine.Active];

    public string UrlOf(string key) => PublicUrl(herald.Value.PublicBaseUrl, key);

    public static string PublicUrl(string publicBaseUrl, string key) => $"{publicBaseUrl.TrimEnd('/')}/media/{key}";

    public MediaDto ToDto(MediaItem m) => new(m.Id.ToString(CultureInfo.InvariantCulture), m.Kind, m.ContentType, m.FileName, m.SizeBytes, UrlOf(m.Key), m.CreatedAt);

    public async Task<MediaItem> GetAsync(Caller caller, long id, CancellationToken ct) =>
        await db.Set<MediaItem>().FirstOrDefaultAsync(m => m.Id == id && m.WorkspaceId == caller.WorkspaceId, ct)
        ?? throw new NotFoundException($"Media {id}");

    public async Task<Paged<MediaDto>> ListAsync(Caller caller, string? kind, PageRequest p, CancellationToken ct)
    {
        var q = db.Set<MediaItem>().AsNoTracking().Where(m => m.WorkspaceId == caller.WorkspaceId);
        if (!string.IsNullOrEmpty(kind)) q = q.Where(m => m.Kind == kind);
        var total = await q.LongCountAsync(ct);
        var rows = await q.OrderByDescending(m => m.Id).Skip(p.Skip).Take(p.Limit).ToListAsync(ct);
        return new Paged<MediaDto>(rows.Select(ToDto).ToList(), total, p.Page, p.Limit);
    }

    /// <summary>
    /// Stores an upload. The type comes from the bytes (<see cref="MediaSniffer"/>); the file name is kept for
    /// display only. <paramref name="content"/> must be seekable (form files are).
    /// </summary>
    public async Task<MediaItem> UploadAsync(Caller caller, Stream content, long length, string? fileName, CancellationToken ct)
    {
        if (length == 0) throw ValidationFailedException.For("file", "The file is empty.");
        var head = new byte[MediaSniffer.HeadBytes];
        var n = await content.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, ct);
        content.Position = 0;
        var type = MediaSniffer.Detect(head.AsSpan(0, n), content)
            ?? throw ValidationFailedException.For("file",
                $"The file's content is not a supported type (JPEG, PNG, GIF, WebP, MP4, 3GPP, PDF, DOCX, XLSX, PPTX), whatever its name{(fileName is null ? "" : $" ('{fileName}')")} says.");
        var limit = options.Value.LimitFor(type.Kind);
        if (length > limit)
            throw new MediaTooLargeException($"The {type.Kind} is {length:N0} bytes; {type.Kind}s may be at most {limit:N0} bytes ({limit / (1024 * 1024)} MB).");

        var sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(content, ct));
        content.Position = 0;
        var key = Base64Url(RandomNumberGenerator.GetBytes(24));
        await store.SaveAsync(key, content, ct);
        var item = new MediaItem
        {
            WorkspaceId = caller.WorkspaceId, Key = key, Kind = type.Kind, ContentType = type.ContentType,
            FileName = fileName is null ? null : Truncate(Path.GetFileName(fileName), 255), SizeBytes = length, Sha256 = sha,
            CreatedBy = caller.Actor, CreatedAt = clock.GetUtcNow().UtcDateTime,
        };
        db.Add(item);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch
        {
            await store.DeleteAsync(key, CancellationToken.None);
            throw;
        }
        audit.Record(caller, "media.upload", "media", item.Id, new { item.Kind, item.ContentType, item.SizeBytes });
        await db.SaveChangesAsync(ct);
        return item;
    }

    /// <summary>Deletes the item and its bytes; 409 while a product or a campaign that is pending, approved, running or paused uses it.</summary>
    public async Task DeleteAsync(Caller caller, long id, CancellationToken ct)
    {
        var item = await GetAsync(caller, id, ct);
        var productIds = await db.Set<Product>().Where(p => p.WorkspaceId == caller.WorkspaceId && p.MediaId == id).Select(p => p.Id).ToListAsync(ct);
        var campaign = await db.Set<Campaign>().AsNoTracking()
            .Where(c => c.WorkspaceId == caller.WorkspaceId && InUseStatuses.Contains(c.Status)
                        && (c.MediaId == id || (c.ProductId != null && productIds.Contains(c.ProductId.Value))))
            .Select(c => new { c.Id, c.Name, c.Status }).FirstOrDefaultAsync(ct);
        if (campaign is not null)
            throw new ConflictException($"Media {id} is used by campaign {campaign.Id} ('{campaign.Name}', {campaign.Status.Replace('_', ' ')}); it can be deleted once that campaign has finished or is cancelled.", campaign.Status);
        if (productIds.Count > 0)
            throw new ConflictException($"Media {id} is the image of product {productIds[0]}; give that product another image first.");
        db.Remove(item);
        audit.Record(caller, "media.delete", "media", item.Id, new { item.FileName });
        await db.SaveChangesAsync(ct);
        await store.DeleteAsync(item.Key, ct);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];
}
