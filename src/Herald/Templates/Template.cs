using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Herald.Templates;

/// <summary>Reusable message content for one channel (Liquid source), referenced by campaigns and journeys.</summary>
public sealed class Template
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    public required string Name { get; set; }
    /// <summary>email | sms | whatsapp | push | webhook.</summary>
    public required string Channel { get; set; }
    /// <summary>JSON <see cref="ChannelContent"/> (only the part for <see cref="Channel"/> is set).</summary>
    public string Content { get; set; } = "{}";
    public required string CreatedBy { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

internal sealed class TemplateMap : IEntityTypeConfiguration<Template>
{
    public void Configure(EntityTypeBuilder<Template> b)
    {
        b.ToTable("template");
        b.Property(x => x.Name).HasMaxLength(200);
        b.Property(x => x.Channel).HasMaxLength(16);
        b.Property(x => x.Content).IsJson();
        b.Property(x => x.CreatedBy).HasMaxLength(64);
        b.HasIndex(x => new { x.WorkspaceId, x.Name });
        b.HasOne<Herald.Workspaces.Workspace>().WithMany().HasForeignKey(x => x.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}
