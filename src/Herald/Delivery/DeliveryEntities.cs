using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Herald.Delivery;

/// <summary>An address that must not be messaged on a channel (hard bounce, complaint, provider "unsubscribed", manual).</summary>
public sealed class Suppression
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    public required string Channel { get; set; }
    public required string Address { get; set; }
    /// <summary>bounce, complaint, provider code, manual.</summary>
    public string? Reason { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>A message recorded by the built-in sandbox provider instead of being sent (the dashboard's Outbox).</summary>
public sealed class OutboxMessage
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    public long DeliveryId { get; set; }
    public long? CampaignId { get; set; }
    public required string Channel { get; set; }
    public required string Address { get; set; }
    public string? Subject { get; set; }
    /// <summary>Plain text: email text part, SMS/WhatsApp/push body, webhook JSON body.</summary>
    public string? Body { get; set; }
    public string? Html { get; set; }
    public bool Test { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>
/// A token bucket shared by every node (PostgreSQL): tokens refilled by elapsed time, taken in chunks.
/// <see cref="LastGranted"/> is how many tokens the latest take got (RETURNING sees new values only).
/// </summary>
public sealed class RateBucket
{
    public required string Key { get; set; }
    public double Tokens { get; set; }
    public double LastGranted { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>Messages taken from a workspace's daily limit of a channel on one local day.</summary>
public sealed class DailyUsage
{
    public long WorkspaceId { get; set; }
    public required string Channel { get; set; }
    /// <summary>Local day in the workspace timezone, yyyy-MM-dd.</summary>
    public required string Day { get; set; }
    public int Used { get; set; }
    public int LastGranted { get; set; }
}

/// <summary>
/// A range of a run's first pass handed to one worker (PostgreSQL): the pending first-pass deliveries of
/// <see cref="RunId"/> with ids in [<see cref="FirstId"/>, <see cref="LastId"/>] belong to <see cref="Owner"/> until
/// <see cref="LeaseUntil"/>. One row per batch instead of a lease written into each delivery row: the delivery row
/// is written once, when its result is recorded (which deletes the lease in the same statement). A lease that
/// expires (its node died) is swept: its rows still pending follow the channel's crash policy.
/// </summary>
public sealed class DeliveryLease
{
    public long Id { get; set; }
    public long RunId { get; set; }
    public required string Owner { get; set; }
    public DateTime LeaseUntil { get; set; }
    public long FirstId { get; set; }
    public long LastId { get; set; }
    public DateTime CreatedAt { get; set; }

    /// <summary>
    /// SQL: the delivery row <paramref name="delivery"/> is in no range lease, i.e. not in flight under one. Statements
    /// that end pending deliveries (cancel, expiry) leave leased ones to their worker.
    /// </summary>
    internal static string NotLeasedSql(string delivery) =>
        $"NOT EXISTS (SELECT 1 FROM delivery_lease l WHERE l.run_id = {delivery}.run_id AND {delivery}.id BETWEEN l.first_id AND l.last_id)";
}

internal sealed class DeliveryLeaseMap : IEntityTypeConfiguration<DeliveryLease>
{
    public void Configure(EntityTypeBuilder<DeliveryLease> b)
    {
        b.ToTable("delivery_lease");
        b.Property(x => x.Owner).HasMaxLength(100);
        // A handful of rows at any time (one per batch in flight): no index beyond the key.
    }
}

internal sealed class SuppressionMap : IEntityTypeConfiguration<Suppression>
{
    public void Configure(EntityTypeBuilder<Suppression> b)
    {
        b.ToTable("suppression");
        b.Property(x => x.Channel).HasMaxLength(16);
        b.Property(x => x.Address).HasMaxLength(2048);
        b.Property(x => x.Reason).HasMaxLength(200);
        // Run start probes (workspace, channel, address) once per recipient.
        b.HasIndex(x => new { x.WorkspaceId, x.Channel, x.Address }).IsUnique();
        b.HasOne<Herald.Workspaces.Workspace>().WithMany().HasForeignKey(x => x.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class OutboxMessageMap : IEntityTypeConfiguration<OutboxMessage>
{
    public void Configure(EntityTypeBuilder<OutboxMessage> b)
    {
        b.ToTable("outbox_message");
        b.Property(x => x.Channel).HasMaxLength(16);
        b.Property(x => x.Address).HasMaxLength(2048);
        // Deliberately no foreign keys: the sandbox is the benchmark provider and inserts 25k rows/s.
        b.HasIndex(x => new { x.WorkspaceId, x.CampaignId });
    }
}

internal sealed class RateBucketMap : IEntityTypeConfiguration<RateBucket>
{
    public void Configure(EntityTypeBuilder<RateBucket> b)
    {
        b.ToTable("rate_bucket");
        b.HasKey(x => x.Key);
        b.Property(x => x.Key).HasMaxLength(200);
    }
}

internal sealed class DailyUsageMap : IEntityTypeConfiguration<DailyUsage>
{
    public void Configure(EntityTypeBuilder<DailyUsage> b)
    {
        b.ToTable("daily_usage");
        b.HasKey(x => new { x.WorkspaceId, x.Channel, x.Day });
        b.Property(x => x.Channel).HasMaxLength(16);
        b.Property(x => x.Day).HasMaxLength(10);
    }
}
