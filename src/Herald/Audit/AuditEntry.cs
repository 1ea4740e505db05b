using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Herald.Audit;

/// <summary>Who did what, when, to which target. Append-only.</summary>
public sealed class AuditEntry
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    /// <summary>"user:12", "key:3" or "system".</summary>
    public required string Actor { get; set; }
    public required string Action { get; set; }
    public required string TargetType { get; set; }
    public string? TargetId { get; set; }
    public string? Details { get; set; }
    public DateTime At { get; set; }
}

internal sealed class AuditEntryMap : IEntityTypeConfiguration<AuditEntry>
{
    public void Configure(EntityTypeBuilder<AuditEntry> b)
    {
        b.ToTable("audit_log");
        b.Property(x => x.Actor).HasMaxLength(64);
        b.Property(x => x.Action).HasMaxLength(64);
        b.Property(x => x.TargetType).HasMaxLength(64);
        b.Property(x => x.TargetId).HasMaxLength(64);
        b.Property(x => x.Details).IsJson();
        b.HasIndex(x => new { x.WorkspaceId, x.At });
        b.HasIndex(x => new { x.WorkspaceId, x.TargetType, x.TargetId });
    }
}
