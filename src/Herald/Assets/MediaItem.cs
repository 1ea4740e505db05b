using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Herald.Assets;

/// <summary>
/// An uploaded image, video or document. Its bytes live in the <see cref="IMediaStore"/> under
/// <see cref="Key"/>, which is also the unguessable part of its public URL (<c>/media/{key}</c>).
/// </summary>
public sealed class MediaItem
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    /// <summary>192 random bits, base64url: the public URL's only secret.</summary>
    public required string Key { get; set; }
    /// <summary><see cref="MediaKinds"/>: image | video | document.</summary>
    public required string Kind { get; set; }
    /// <summary>Decided from the bytes (magic numbers), never from the file name.</summary>
    public required string ContentType { get; set; }
    /// <summary>The uploaded file's name, kept only for display.</summary>
    public string? FileName { get; set; }
    public long SizeBytes { get; set; }
    /// <summary>Hex SHA-256 of the bytes; the ETag.</summary>
    public required string Sha256 { get; set; }
    public required string CreatedBy { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>The kinds WhatsApp distinguishes for header media (and their size limits).</summary>
public static class MediaKinds
{
    public const string Image = "image";
    public const string Video = "video";
    public const string Document = "document";
}

internal sealed class MediaItemMap : IEntityTypeConfiguration<MediaItem>
{
    public void Configure(EntityTypeBuilder<MediaItem> b)
    {
        b.ToTable("media");
        b.Property(x => x.Key).HasMaxLength(64);
        b.Property(x => x.Kind).HasMaxLength(16);
        b.Property(x => x.ContentType).HasMaxLength(100);
        b.Property(x => x.FileName).HasMaxLength(255);
        b.Property(x => x.Sha256).HasMaxLength(64);
        b.Property(x => x.CreatedBy).HasMaxLength(64);
        b.HasIndex(x => x.Key).IsUnique();
        b.HasIndex(x => new { x.WorkspaceId, x.Id });
        b.HasOne<Herald.Workspaces.Workspace>().WithMany().HasForeignKey(x => x.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}
