using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Herald.Workspaces;

/// <summary>A tenant: every other row belongs to exactly one workspace.</summary>
public sealed class Workspace
{
    public long Id { get; set; }
    public required string Name { get; set; }
    /// <summary>IANA timezone used when a time is given without one. Default: UTC.</summary>
    public string Timezone { get; set; } = "UTC";
    /// <summary>ISO 3166 region used to read phone numbers written without a country code.</summary>
    public string DefaultPhoneRegion { get; set; } = "US";
    /// <summary>When true, campaigns need an approver (not their author) before they can run.</summary>
    public bool ApprovalRequired { get; set; }
    /// <summary>JSON object channel -> max messages per day (in the workspace timezone).</summary>
    public string DailyLimits { get; set; } = "{}";
    /// <summary>Max marketing messages per contact per <see cref="FrequencyCapPeriodDays"/>; null = no cap.</summary>
    public int? FrequencyCapMax { get; set; }
    public int FrequencyCapPeriodDays { get; set; } = 7;
    /// <summary>JSON quiet hours default: {start, end, timezone}; null = none.</summary>
    public string? QuietHours { get; set; }
    public DateTime CreatedAt { get; set; }
}

internal sealed class WorkspaceMap : IEntityTypeConfiguration<Workspace>
{
    public void Configure(EntityTypeBuilder<Workspace> b)
    {
        b.ToTable("workspace");
        b.Property(x => x.Name).HasMaxLength(200);
        b.Property(x => x.Timezone).HasMaxLength(64);
        b.Property(x => x.DefaultPhoneRegion).HasMaxLength(2);
        b.Property(x => x.DailyLimits).IsJson();
        b.Property(x => x.QuietHours).IsJson();
    }
}
