using Herald.Contacts;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Herald.Audience;

/// <summary>A saved, dynamic filter (API.md, Filter): membership is computed at each use.</summary>
public sealed class Segment
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    public required string Name { get; set; }
    /// <summary>The filter as given (tree or shorthand), validated on save.</summary>
    public string Filter { get; set; } = "{}";
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>A static list: members are added and removed explicitly.</summary>
public sealed class ContactList
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

public sealed class ContactListMember
{
    public long ListId { get; set; }
    public long ContactId { get; set; }
    public DateTime AddedAt { get; set; }
}

/// <summary>One CSV/XLSX import: its settings, progress counters and outcome.</summary>
public sealed class ImportJob
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    public string Status { get; set; } = ImportStatus.Queued;
    public required string FileName { get; set; }
    /// <summary><c>csv</c> or <c>xlsx</c>.</summary>
    public required string Format { get; set; }
    /// <summary><c>upsert</c> (default) or <c>create</c> (existing contacts are skipped).</summary>
    public string Mode { get; set; } = ImportModes.Upsert;
    public long? ListId { get; set; }
    /// <summary>JSON array of tags added to every imported contact.</summary>
    public string Tags { get; set; } = "[]";
    /// <summary>JSON object column header -> contact field (or <c>attributes.key</c>); null: match headers by name.</summary>
    public string? Mapping { get; set; }
    /// <summary>Where the upload is kept until the import finishes.</summary>
    public required string StoredPath { get; set; }
    public long FileBytes { get; set; }
    public long RowsRead { get; set; }
    public long Created { get; set; }
    public long Updated { get; set; }
    public long Skipped { get; set; }
    public long Failed { get; set; }
    /// <summary>JSON array of the first 20 errors, <c>[{line, reason}]</c>.</summary>
    public string FirstErrors { get; set; } = "[]";
    /// <summary>Why the whole import failed (unreadable file), if it did.</summary>
    public string? Error { get; set; }
    public required string CreatedBy { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? StartedAt { get; set; }
    public DateTime? FinishedAt { get; set; }
}

/// <summary>A rejected import row: its line in the file, the reason, and its cells (JSON array) for errors.csv.</summary>
public sealed class ImportRowError
{
    public long Id { get; set; }
    public long ImportId { get; set; }
    public long Line { get; set; }
    public required string Reason { get; set; }
    public string? Cells { get; set; }
}

public static class ImportStatus
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
}

public static class ImportModes
{
    public const string Upsert = "upsert";
    public const string Create = "create";
}

/// <summary>Quintile cutoffs of the last full RFM computation, so single contacts can be scored incrementally.</summary>
public sealed class RfmCutoffs
{
    public long WorkspaceId { get; set; }
    /// <summary>JSON <c>{recency:[4 instants], frequency:[4], monetary:[4]}</c>, ascending.</summary>
    public string Cutoffs { get; set; } = "{}";
    public DateTime ComputedAt { get; set; }
}

internal sealed class SegmentMap : IEntityTypeConfiguration<Segment>
{
    public void Configure(EntityTypeBuilder<Segment> b)
    {
        b.ToTable("segment");
        b.Property(x => x.Name).HasMaxLength(200);
        b.Property(x => x.Filter).IsJson();
        b.HasIndex(x => new { x.WorkspaceId, x.Name });
        b.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(x => x.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ContactListMap : IEntityTypeConfiguration<ContactList>
{
    public void Configure(EntityTypeBuilder<ContactList> b)
    {
        b.ToTable("contact_list");
        b.Property(x => x.Name).HasMaxLength(200);
        b.Property(x => x.Description).HasMaxLength(2000);
        b.HasIndex(x => new { x.WorkspaceId, x.Name });
        b.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(x => x.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ContactListMemberMap : IEntityTypeConfiguration<ContactListMember>
{
    public void Configure(EntityTypeBuilder<ContactListMember> b)
    {
        b.ToTable("contact_list_member");
        b.HasKey(x => new { x.ListId, x.ContactId });
        // Audience resolution probes "is this contact in list L" from the contact side.
        b.HasIndex(x => x.ContactId);
        b.HasOne<ContactList>().WithMany().HasForeignKey(x => x.ListId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne<Contact>().WithMany().HasForeignKey(x => x.ContactId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ImportJobMap : IEntityTypeConfiguration<ImportJob>
{
    public void Configure(EntityTypeBuilder<ImportJob> b)
    {
        b.ToTable("import_job");
        b.Property(x => x.Status).HasMaxLength(16);
        b.Property(x => x.FileName).HasMaxLength(260);
        b.Property(x => x.Format).HasMaxLength(8);
        b.Property(x => x.Mode).HasMaxLength(16);
        b.Property(x => x.Tags).IsJson();
        b.Property(x => x.Mapping).IsJson();
        b.Property(x => x.FirstErrors).IsJson();
        b.Property(x => x.StoredPath).HasMaxLength(1000);
        b.Property(x => x.CreatedBy).HasMaxLength(200);
        b.HasIndex(x => new { x.WorkspaceId, x.CreatedAt });
        b.HasIndex(x => x.Status);
        b.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(x => x.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ImportRowErrorMap : IEntityTypeConfiguration<ImportRowError>
{
    public void Configure(EntityTypeBuilder<ImportRowError> b)
    {
        b.ToTable("import_row_error");
        b.Property(x => x.Reason).HasMaxLength(500);
        b.HasIndex(x => new { x.ImportId, x.Line });
        b.HasOne<ImportJob>().WithMany().HasForeignKey(x => x.ImportId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class RfmCutoffsMap : IEntityTypeConfiguration<RfmCutoffs>
{
    public void Configure(EntityTypeBuilder<RfmCutoffs> b)
    {
        b.ToTable("rfm_cutoffs");
        b.HasKey(x => x.WorkspaceId);
        b.Property(x => x.WorkspaceId).ValueGeneratedNever();
        b.Property(x => x.Cutoffs).IsJson();
        b.HasOne<Workspaces.Workspace>().WithMany().HasForeignKey(x => x.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}
