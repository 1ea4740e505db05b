using Herald.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Herald.Channels;

/// <summary>
/// A provider configured for a channel in a workspace (POST /api/v1/channels). When a workspace has
/// none for a channel, the sandbox provider serves it.
/// </summary>
public sealed class ChannelConfig
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    public required string Channel { get; set; }
    public required string Provider { get; set; }
    public required string Name { get; set; }
    /// <summary>The provider used for this channel when a campaign names none.</summary>
    public bool IsDefault { get; set; }
    /// <summary>Provider settings JSON, encrypted with Data Protection (<see cref="ChannelSecrets"/>).</summary>
    public string ProtectedSettings { get; set; } = "";
    public int? RateLimitPerSecond { get; set; }
    public int? RateLimitPerMinute { get; set; }
    public string CrashPolicy { get; set; } = CrashPolicies.AtLeastOnce;
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>Encrypts provider settings at rest; the key ring lives in the database so every node can read it.</summary>
public sealed class ChannelSecrets(IDataProtectionProvider provider)
{
    private readonly IDataProtector _protector = provider.CreateProtector("Herald.ChannelSettings.v1");

    public string Protect(string settingsJson) => _protector.Protect(settingsJson);

    public string Unprotect(string protectedSettings) =>
        string.IsNullOrEmpty(protectedSettings) ? "{}" : _protector.Unprotect(protectedSettings);
}

internal sealed class ChannelConfigMap : IEntityTypeConfiguration<ChannelConfig>
{
    public void Configure(EntityTypeBuilder<ChannelConfig> b)
    {
        b.ToTable("channel_config");
        b.Property(x => x.Channel).HasMaxLength(16);
        b.Property(x => x.Provider).HasMaxLength(32);
        b.Property(x => x.Name).HasMaxLength(200);
        b.Property(x => x.CrashPolicy).HasMaxLength(16);
        b.HasIndex(x => new { x.WorkspaceId, x.Channel });
        b.HasOne<Herald.Workspaces.Workspace>().WithMany().HasForeignKey(x => x.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}
