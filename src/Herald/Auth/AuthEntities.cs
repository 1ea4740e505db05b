using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Herald.Auth;

/// <summary>Roles in increasing power; a higher role may do everything a lower one may.</summary>
public enum Role
{
    Viewer = 1,
    Editor = 2,
    Approver = 3,
    Admin = 4,
}

/// <summary>A person who logs in to the dashboard.</summary>
public sealed class User
{
    public long Id { get; set; }
    public required string Email { get; set; }
    public string? Name { get; set; }
    public string? PasswordHash { get; set; }
    /// <summary>The user's own timezone for the dashboard; null = the workspace's.</summary>
    public string? Timezone { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>A user's role in one workspace.</summary>
public sealed class Membership
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    public long UserId { get; set; }
    public Role Role { get; set; }
    public DateTime CreatedAt { get; set; }
    public User? User { get; set; }
}

/// <summary>An API key: random, shown once, stored as a SHA-256 hash; the prefix identifies it in lists.</summary>
public sealed class ApiKey
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    public required string Name { get; set; }
    public required string Prefix { get; set; }
    public required string Hash { get; set; }
    public Role Role { get; set; }
    public long? CreatedByUserId { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? LastUsedAt { get; set; }
    public DateTime? RevokedAt { get; set; }
}

internal sealed class UserMap : IEntityTypeConfiguration<User>
{
    public void Configure(EntityTypeBuilder<User> b)
    {
        b.ToTable("app_user");
        b.Property(x => x.Email).HasMaxLength(320);
        b.HasIndex(x => x.Email).IsUnique();
    }
}

internal sealed class MembershipMap : IEntityTypeConfiguration<Membership>
{
    public void Configure(EntityTypeBuilder<Membership> b)
    {
        b.ToTable("membership");
        b.Property(x => x.Role).HasConversion<string>().HasMaxLength(16);
        b.HasIndex(x => new { x.WorkspaceId, x.UserId }).IsUnique();
        b.HasIndex(x => x.UserId);
        b.HasOne<Herald.Workspaces.Workspace>().WithMany().HasForeignKey(x => x.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne(x => x.User).WithMany().HasForeignKey(x => x.UserId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ApiKeyMap : IEntityTypeConfiguration<ApiKey>
{
    public void Configure(EntityTypeBuilder<ApiKey> b)
    {
        b.ToTable("api_key");
        b.Property(x => x.Role).HasConversion<string>().HasMaxLength(16);
        b.Property(x => x.Hash).HasMaxLength(64);
        b.Property(x => x.Prefix).HasMaxLength(16);
        b.HasIndex(x => x.Hash).IsUnique();
        b.HasIndex(x => x.WorkspaceId);
        b.HasOne<Herald.Workspaces.Workspace>().WithMany().HasForeignKey(x => x.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}
