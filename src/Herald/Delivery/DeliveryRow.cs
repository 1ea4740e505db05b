using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Herald.Delivery;

/// <summary>
/// One message to one contact over one channel in one run. UNIQUE (run_id, contact_id, channel) is
/// the idempotency key of a send. Written in bulk by run start and by workers (raw SQL on the hot
/// path); read through EF elsewhere.
/// </summary>
public sealed class DeliveryRow
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    /// <summary>Null for journey sends and test sends.</summary>
    public long? RunId { get; set; }
    public long? CampaignId { get; set; }
    public long? JourneyEnrollmentId { get; set; }
    public long ContactId { get; set; }
    public required string Channel { get; set; }
    public required string Address { get; set; }
    public string? Variant { get; set; }
    public string Status { get; set; } = DeliveryStatus.Pending;
    /// <summary>Why it was skipped (no_address, unsubscribed, suppressed, capped, expired, cancelled) or failed.</summary>
    public string? Reason { get; set; }
    public int Attempts { get; set; }
    public DateTime NextAttemptAt { get; set; }
    public string? LeaseOwner { get; set; }
    public DateTime? LeaseUntil { get; set; }
    public long? ChannelConfigId { get; set; }
    public string? ProviderMessageId { get; set; }
    public string? ErrorCode { get; set; }
    public string? ErrorText { get; set; }
    public bool Test { get; set; }
    /// <summary>
    /// Pending in its run's first pass (PostgreSQL, set by run start for deliveries due at once): claimed by id range
    /// (<see cref="DeliveryLease"/>), not through the pending index. Every other pending row (retries, deferrals,
    /// journey sends, A/B holdbacks, SQLite) has it false and is claimed row by row.
    /// </summary>
    public bool FirstPass { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? SentAt { get; set; }
    public DateTime? DeliveredAt { get; set; }
    public DateTime? ReadAt { get; set; }
    public DateTime? OpenedAt { get; set; }
    public DateTime? ClickedAt { get; set; }
    public DateTime? FinishedAt { get; set; }
}

/// <summary>Delivery statuses. Final: sent (until receipts), delivered, read, failed, skipped, unknown.</summary>
public static class DeliveryStatus
{
    public const string Pending = "pending";
    public const string Sending = "sending";
    public const string Sent = "sent";
    public const string Delivered = "delivered";
    public const string Read = "read";
    public const string Failed = "failed";
    public const string Skipped = "skipped";
    /// <summary>The node died mid-send under at_most_once: the message may or may not have gone out.</summary>
    public const string Unknown = "unknown";
}

internal sealed class DeliveryRowMap : IEntityTypeConfiguration<DeliveryRow>
{
    public void Configure(EntityTypeBuilder<DeliveryRow> b)
    {
        b.ToTable("delivery");
        b.Property(x => x.Channel).HasMaxLength(16);
        b.Property(x => x.Address).HasMaxLength(2048);
        b.Property(x => x.Variant).HasMaxLength(32);
        b.Property(x => x.Status).HasMaxLength(16);
        b.Property(x => x.Reason).HasMaxLength(64);
        b.Property(x => x.LeaseOwner).HasMaxLength(100);
        b.Property(x => x.ProviderMessageId).HasMaxLength(200);
        b.Property(x => x.ErrorCode).HasMaxLength(64);
        b.Property(x => x.ErrorText).HasMaxLength(1000);
        b.HasIndex(x => new { x.RunId, x.ContactId, x.Channel }).IsUnique();
        // Partial indexes keep the hot path cheap: a row enters the claim index only while pending and the
        // lease index only while leased, so claiming and recording a batch do not grow them (DeliveryClaimBatch,
        // DeliveryReclaimExpired); receipts and frequency caps index only rows that have the value.
        // (next_attempt_at, id): the claim walks it in this order from a per-node cursor (DeliveryClaimBatch); the id
        // makes every key unique, so the claim can start after the last row it took instead of at the index's front.
        // First-pass rows stay out of it: they are claimed by id range (DeliveryClaimRange), and leaving them out saves an
        // index entry per recipient at run start.
        b.HasIndex(x => new { x.NextAttemptAt, x.Id }).HasDatabaseName("ix_delivery_pending_next_attempt_at_id").HasFilter("status = 'pending' AND NOT first_pass");
        // The lease index is filtered on lease_until, not on status = 'sending' (the same rows: only a claim sets a
        // lease and every status change from 'sending' clears it). Filtered on status, PostgreSQL chose it for
        // DeliveryRecordResults (WHERE status = 'sending' AND id = ...): between vacuums it holds a dead entry for
        // every row claimed so far, and with the statistics of run start (nothing sending) the planner walked all of
        // them per batch: 350 ms per 500-row batch at 300k rows. Now only the reclaim sweep (lease_until < now) can use it.
        b.HasIndex(x => x.LeaseUntil).HasDatabaseName("ix_delivery_lease_until").HasFilter("lease_until IS NOT NULL");
        b.HasIndex(x => x.ProviderMessageId).HasFilter("provider_message_id IS NOT NULL");
        b.HasIndex(x => new { x.ContactId, x.SentAt }).HasFilter("sent_at IS NOT NULL");
    }
}
