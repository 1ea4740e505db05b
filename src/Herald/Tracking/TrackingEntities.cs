using Herald.Campaigns;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Herald.Tracking;

/// <summary>
/// What happened to a delivery after it was sent: opened, clicked, unsubscribed, converted. Append-only: rows are
/// never deleted or rewritten, with one exception: <see cref="Machine"/> may be set later on a click, when a burst
/// over every link of the message reveals a link scanner (the counters move back in the same transaction).
/// The run counters (<see cref="CampaignRun"/>, <see cref="RunVariantStat"/>, <see cref="RunMinuteStat"/>) are kept in
/// step with these rows in the transaction that writes them, so reads never count events.
/// </summary>
public sealed class DeliveryEvent
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    public long DeliveryId { get; set; }
    public long ContactId { get; set; }
    public long? CampaignId { get; set; }
    public long? RunId { get; set; }
    /// <summary>One of <see cref="DeliveryEventTypes"/>.</summary>
    public required string Type { get; set; }
    public DateTime At { get; set; }
    /// <summary>The clicked link (<see cref="TrackedLink"/>).</summary>
    public long? LinkId { get; set; }
    /// <summary>Conversion value.</summary>
    public decimal? Value { get; set; }
    public string? Currency { get; set; }
    /// <summary>Not a person: a known prefetcher or scanner, too soon after the send, or a burst over every link.</summary>
    public bool Machine { get; set; }
    /// <summary>Why: the machine reason (user_agent, after_send, burst), the unsubscribed channels, or the conversion's source (api, order:&lt;event id&gt;).</summary>
    public string? Detail { get; set; }
}

public static class DeliveryEventTypes
{
    public const string Opened = "opened";
    public const string Clicked = "clicked";
    public const string Unsubscribed = "unsubscribed";
    public const string Converted = "converted";
}

/// <summary>A link of a campaign's content that clicks are redirected to. The redirect target comes only from here.</summary>
public sealed class TrackedLink
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    public long CampaignId { get; set; }
    /// <summary>SHA-256 of <see cref="Url"/> (hex): the unique key, so long URLs need no long index.</summary>
    public required string UrlHash { get; set; }
    public required string Url { get; set; }
    /// <summary>Every click, machines included.</summary>
    public int Clicks { get; set; }
    /// <summary>Deliveries with at least one human click on this link.</summary>
    public int UniqueClicks { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>Counters of one variant of one run (A/B figures and per-variant stats), moved per batch and per event.</summary>
public sealed class RunVariantStat
{
    public long RunId { get; set; }
    public required string Variant { get; set; }
    public int Total { get; set; }
    public int Skipped { get; set; }
    public int Sent { get; set; }
    public int Delivered { get; set; }
    public int Failed { get; set; }
    public int Bounced { get; set; }
    public int Opened { get; set; }
    public int Clicked { get; set; }
    public int Converted { get; set; }
    public int Unsubscribed { get; set; }
    public decimal ConversionValue { get; set; }
}

/// <summary>Counters of one run in one UTC minute: the stats timeline, moved per batch and per event (never a scan of deliveries).</summary>
public sealed class RunMinuteStat
{
    public long RunId { get; set; }
    public DateTime Minute { get; set; }
    public int Sent { get; set; }
    public int Delivered { get; set; }
    public int Failed { get; set; }
    /// <summary>First human opens and clicks of a delivery (unique), by the minute they happened.</summary>
    public int Opened { get; set; }
    public int Clicked { get; set; }
    public int Converted { get; set; }
    public int Unsubscribed { get; set; }
}

/// <summary>The install's token signing key, encrypted with Data Protection (whose key ring is in the database, so every node reads the same key).</summary>
public sealed class TrackingKey
{
    public int Id { get; set; }
    public required string ProtectedKey { get; set; }
    public DateTime CreatedAt { get; set; }
}

internal sealed class DeliveryEventMap : IEntityTypeConfiguration<DeliveryEvent>
{
    public void Configure(EntityTypeBuilder<DeliveryEvent> b)
    {
        b.ToTable("delivery_event");
        b.Property(x => x.Type).HasMaxLength(16);
        b.Property(x => x.Currency).HasMaxLength(3);
        b.Property(x => x.Detail).HasMaxLength(64);
        b.Property(x => x.Value).HasPrecision(18, 2);
        // A delivery's earlier events of a type (first open, unique click, burst, CSV export).
        b.HasIndex(x => new { x.DeliveryId, x.Type });
        // Attribution: the contact's latest touch before an order.
        b.HasIndex(x => new { x.ContactId, x.At });
        // No foreign keys, like delivery: events arrive at the rate opens do and a run's deliveries are never deleted.
    }
}

internal sealed class TrackedLinkMap : IEntityTypeConfiguration<TrackedLink>
{
    public void Configure(EntityTypeBuilder<TrackedLink> b)
    {
        b.ToTable("tracked_link");
        b.Property(x => x.UrlHash).HasMaxLength(64);
        b.Property(x => x.Url).HasMaxLength(8192);
        b.HasIndex(x => new { x.CampaignId, x.UrlHash }).IsUnique();
        b.HasOne<Campaign>().WithMany().HasForeignKey(x => x.CampaignId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class RunVariantStatMap : IEntityTypeConfiguration<RunVariantStat>
{
    public void Configure(EntityTypeBuilder<RunVariantStat> b)
    {
        b.ToTable("run_variant_stat");
        b.HasKey(x => new { x.RunId, x.Variant });
        b.Property(x => x.Variant).HasMaxLength(32);
        b.Property(x => x.ConversionValue).HasPrecision(18, 2);
        b.HasOne<CampaignRun>().WithMany().HasForeignKey(x => x.RunId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class RunMinuteStatMap : IEntityTypeConfiguration<RunMinuteStat>
{
    public void Configure(EntityTypeBuilder<RunMinuteStat> b)
    {
        b.ToTable("run_minute_stat");
        b.HasKey(x => new { x.RunId, x.Minute });
        b.HasOne<CampaignRun>().WithMany().HasForeignKey(x => x.RunId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class TrackingKeyMap : IEntityTypeConfiguration<TrackingKey>
{
    public void Configure(EntityTypeBuilder<TrackingKey> b)
    {
        b.ToTable("tracking_key");
        b.Property(x => x.Id).ValueGeneratedNever();
    }
}
