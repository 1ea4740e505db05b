using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Herald.Assets;

/// <summary>
/// A WhatsApp message template as last synced from the Cloud API (one row per name and language).
/// Campaigns are checked against it before anything is sent.
/// </summary>
public sealed class WhatsAppTemplate
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    /// <summary>The whatsapp channel config (WABA) it was synced from.</summary>
    public long ChannelConfigId { get; set; }
    public required string Name { get; set; }
    public required string Language { get; set; }
    /// <summary>Meta's status: APPROVED, PENDING, REJECTED, PAUSED, DISABLED, ...</summary>
    public required string Status { get; set; }
    public string? Category { get; set; }
    /// <summary>Header format in lower case (text | image | video | document | location), null without a header.</summary>
    public string? HeaderType { get; set; }
    /// <summary>Distinct placeholders ({{1}}.. or named) in the BODY text.</summary>
    public int BodyParameterCount { get; set; }
    /// <summary>Meta's template id.</summary>
    public string? MetaId { get; set; }
    /// <summary>The components array as Meta returned it.</summary>
    public string Components { get; set; } = "[]";
    public DateTime SyncedAt { get; set; }
}

internal sealed class WhatsAppTemplateMap : IEntityTypeConfiguration<WhatsAppTemplate>
{
    public void Configure(EntityTypeBuilder<WhatsAppTemplate> b)
    {
        b.ToTable("whatsapp_template");
        b.Property(x => x.Name).HasMaxLength(512);
        b.Property(x => x.Language).HasMaxLength(16);
        b.Property(x => x.Status).HasMaxLength(32);
        b.Property(x => x.Category).HasMaxLength(32);
        b.Property(x => x.HeaderType).HasMaxLength(16);
        b.Property(x => x.MetaId).HasMaxLength(64);
        b.Property(x => x.Components).IsJson();
        b.HasIndex(x => new { x.WorkspaceId, x.Name, x.Language }).IsUnique();
        b.HasOne<Herald.Workspaces.Workspace>().WithMany().HasForeignKey(x => x.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne<Herald.Channels.ChannelConfig>().WithMany().HasForeignKey(x => x.ChannelConfigId).OnDelete(DeleteBehavior.Cascade);
    }
}
