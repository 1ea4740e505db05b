using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Herald.Assets;

/// <summary>
/// A catalog product. A campaign naming it gets <c>product.*</c> in its template scope and, for WhatsApp
/// and push, the product image as message media. The image is an external URL or a media item.
/// </summary>
public sealed class Product
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    /// <summary>Unique per workspace; CSV imports upsert by it.</summary>
    public required string Sku { get; set; }
    public required string Name { get; set; }
    public decimal? Price { get; set; }
    /// <summary>ISO 4217 code, upper case.</summary>
    public string? Currency { get; set; }
    public string? Url { get; set; }
    public string? ImageUrl { get; set; }
    public long? MediaId { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

internal sealed class ProductMap : IEntityTypeConfiguration<Product>
{
    public void Configure(EntityTypeBuilder<Product> b)
    {
        b.ToTable("product");
        b.Property(x => x.Sku).HasMaxLength(100);
        b.Property(x => x.Name).HasMaxLength(300);
        b.Property(x => x.Currency).HasMaxLength(3);
        b.Property(x => x.Url).HasMaxLength(2000);
        b.Property(x => x.ImageUrl).HasMaxLength(2000);
        b.Property(x => x.Price).HasPrecision(18, 4);
        b.HasIndex(x => new { x.WorkspaceId, x.Sku }).IsUnique();
        b.HasOne<Herald.Workspaces.Workspace>().WithMany().HasForeignKey(x => x.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne<MediaItem>().WithMany().HasForeignKey(x => x.MediaId).OnDelete(DeleteBehavior.Restrict);
    }
}
