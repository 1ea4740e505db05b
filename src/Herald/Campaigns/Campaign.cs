using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Herald.Campaigns;

/// <summary>
/// A campaign: content for one or more channels, an audience, a schedule and delivery rules.
/// Its <see cref="Status"/> moves only through <c>CampaignStateMachine</c>. JSON columns hold the
/// API shapes (ChannelContent keyed by channel, AudienceDefinition, schedule, send window, variants).
/// </summary>
public sealed class Campaign
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    public required string Name { get; set; }
    public string Status { get; set; } = CampaignStatus.Draft;
    /// <summary>Channels in order (for <c>fallback</c> mode the first the contact can receive wins).</summary>
    public List<string> Channels { get; set; } = [];
    /// <summary><c>all</c> (default) or <c>fallback</c>.</summary>
    public string ChannelMode { get; set; } = "all";
    /// <summary>JSON ChannelContent (keys email, sms, whatsapp, push, webhook).</summary>
    public string Content { get; set; } = "{}";
    public long? TemplateId { get; set; }
    /// <summary>JSON AudienceDefinition.</summary>
    public string Audience { get; set; } = "{}";
    /// <summary>JSON schedule: {type: now | once | recurring | cron, ...}.</summary>
    public string Schedule { get; set; } = "{\"type\":\"now\"}";
    /// <summary>JSON send window {days, start, end, timezone} or null.</summary>
    public string? SendWindow { get; set; }
    /// <summary>JSON array of variants [{name, weight, content}] or null.</summary>
    public string? Variants { get; set; }
    /// <summary>JSON A/B test phase {testPercent, metric, waitFor} (<c>Tracking.AbTestDefinition</c>) or null.</summary>
    public string? AbTest { get; set; }
    /// <summary>JSON tracking switches {opens, clicks, textLinks} (<c>Tracking.CampaignTracking</c>) or null for the defaults.</summary>
    public string? Tracking { get; set; }
    public int? RateLimitPerSecond { get; set; }
    public int? RateLimitPerMinute { get; set; }
    public bool TestMode { get; set; }
    public DateTime? EndAt { get; set; }
    public long? ProductId { get; set; }
    public long? MediaId { get; set; }
    /// <summary>Actor that created it ("user:12" or "key:3"); approval must come from another person.</summary>
    public required string CreatedBy { get; set; }
    public long? CreatedByUserId { get; set; }
    public string? SubmittedBy { get; set; }
    public string? ApprovedBy { get; set; }
    public DateTime? ApprovedAt { get; set; }
    public string? RejectionReason { get; set; }
    /// <summary>Why it is paused (user, error rate, daily limit) when <see cref="Status"/> is paused.</summary>
    public string? StatusReason { get; set; }
    /// <summary>Due time of the next run (UTC), shown on the campaign.</summary>
    public DateTime? NextRunAt { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    /// <summary>Optimistic concurrency token.</summary>
    public int Version { get; set; }
    /// <summary>
    /// Set on the hidden campaign behind a journey's send step (name <c>journey:&lt;id&gt;:v&lt;version&gt;:&lt;stepId&gt;</c>):
    /// campaign lists hide it, and the delivery engine must not auto-complete its runs (the journey keeps adding deliveries).
    /// </summary>
    public long? JourneyId { get; set; }
}

/// <summary>Campaign statuses (API names). Transitions are decided only by <c>CampaignStateMachine</c>.</summary>
public static class CampaignStatus
{
    public const string Draft = "draft";
    public const string PendingApproval = "pending_approval";
    public const string Approved = "approved";
    public const string Running = "running";
    public const string Paused = "paused";
    public const string Completed = "completed";
    public const string Cancelled = "cancelled";
    public const string Failed = "failed";
}

/// <summary>One execution of a campaign: one for a one-time campaign, one per occurrence of a recurring one.</summary>
public sealed class CampaignRun
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    public long CampaignId { get; set; }
    /// <summary>1-based occurrence number.</summary>
    public int Occurrence { get; set; } = 1;
    public DateTime ScheduledFor { get; set; }
    public DateTime? StartedAt { get; set; }
    public DateTime? FinishedAt { get; set; }
    public string Status { get; set; } = RunStatus.Scheduled;
    public string? StatusReason { get; set; }
    /// <summary>Set when the run started late because the server was down at its time.</summary>
    public bool Misfired { get; set; }
    /// <summary>Node that claimed the run (scheduler).</summary>
    public string? ClaimedBy { get; set; }
    /// <summary>
    /// While <c>starting</c>: until when the claiming node owns the start. Its heartbeat moves it on while it
    /// materializes; once it passes (the node died) any scheduler claims the run again.
    /// </summary>
    public DateTime? LeaseUntil { get; set; }

    // Counters, kept in step with delivery rows per batch (never COUNT(*) on read).
    public int Total { get; set; }
    public int Pending { get; set; }
    public int Sent { get; set; }
    public int Delivered { get; set; }
    public int Read { get; set; }
    public int Failed { get; set; }
    public int Skipped { get; set; }
    public int Unknown { get; set; }
    public int Opened { get; set; }
    public int Clicked { get; set; }
    public int Converted { get; set; }
    public int Unsubscribed { get; set; }
    public int Bounced { get; set; }
    /// <summary>Every open and click (machines included), the machine ones among them, every conversion and their value.</summary>
    public int OpensTotal { get; set; }
    public int ClicksTotal { get; set; }
    public int MachineOpens { get; set; }
    public int MachineClicks { get; set; }
    public int Conversions { get; set; }
    public decimal ConversionValue { get; set; }
    /// <summary>JSON with the A/B decision (winner, figures) when the run had a test phase.</summary>
    public string? AbDecision { get; set; }
    /// <summary>When the run's A/B test phase ends (set while testing, cleared by the one node that decides).</summary>
    public DateTime? AbDecideAt { get; set; }

    /// <summary>
    /// The run's first pass (PostgreSQL): deliveries with ids in (<see cref="RangeCursor"/>, <see cref="RangeLast"/>] that are
    /// pending and <c>first_pass</c> have not been handed to a worker yet. Workers take them in id ranges
    /// (<see cref="Herald.Delivery.DeliveryLease"/>) instead of leasing row by row. Both 0 when the run has no first pass.
    /// </summary>
    public long RangeCursor { get; set; }
    public long RangeLast { get; set; }

    /// <summary>
    /// True while the run's audience is still being materialized in chunks (PostgreSQL): workers already send what the
    /// committed chunks hold, and the run cannot complete. <see cref="MaterializedThrough"/> is the highest contact id
    /// done, so a start that died midway is resumed from there by the node that claims the run again.
    /// </summary>
    public bool Materializing { get; set; }
    public long MaterializedThrough { get; set; }
}

/// <summary>Run statuses. Workers claim deliveries only of runs that are <see cref="Running"/>.</summary>
public static class RunStatus
{
    public const string Scheduled = "scheduled";
    public const string Starting = "starting";
    public const string Running = "running";
    public const string Paused = "paused";
    public const string Completed = "completed";
    public const string Cancelled = "cancelled";
    public const string Failed = "failed";
}

/// <summary>
/// Hands a claimed, due run to the delivery engine: materialize its audience into deliveries and
/// let the workers send. Implemented by the delivery engine; called by the scheduler and send-now.
/// Must be idempotent per run (a second call for the same run is a no-op).
/// </summary>
public interface IRunStarter
{
    Task StartAsync(long runId, CancellationToken ct);
}

internal sealed class CampaignMap : IEntityTypeConfiguration<Campaign>
{
    public void Configure(EntityTypeBuilder<Campaign> b)
    {
        b.ToTable("campaign");
        b.Property(x => x.Name).HasMaxLength(200);
        b.Property(x => x.Status).HasMaxLength(32);
        b.Property(x => x.ChannelMode).HasMaxLength(16);
        b.Property(x => x.Content).IsJson();
        b.Property(x => x.Audience).IsJson();
        b.Property(x => x.Schedule).IsJson();
        b.Property(x => x.SendWindow).IsJson();
        b.Property(x => x.Variants).IsJson();
        b.Property(x => x.AbTest).IsJson();
        b.Property(x => x.Tracking).IsJson();
        b.Property(x => x.CreatedBy).HasMaxLength(64);
        b.Property(x => x.SubmittedBy).HasMaxLength(64);
        b.Property(x => x.ApprovedBy).HasMaxLength(64);
        b.Property(x => x.StatusReason).HasMaxLength(500);
        b.Property(x => x.RejectionReason).HasMaxLength(2000);
        b.Property(x => x.Version).IsConcurrencyToken();
        b.HasIndex(x => new { x.WorkspaceId, x.Status });
        // One hidden campaign per journey send step; two engine nodes racing to create it meet here.
        b.HasIndex(x => new { x.JourneyId, x.Name }).IsUnique().HasFilter("journey_id IS NOT NULL");
        b.HasOne<Herald.Workspaces.Workspace>().WithMany().HasForeignKey(x => x.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class CampaignRunMap : IEntityTypeConfiguration<CampaignRun>
{
    public void Configure(EntityTypeBuilder<CampaignRun> b)
    {
        b.ToTable("campaign_run");
        b.Property(x => x.Status).HasMaxLength(32);
        b.Property(x => x.StatusReason).HasMaxLength(500);
        b.Property(x => x.ClaimedBy).HasMaxLength(100);
        b.Property(x => x.AbDecision).IsJson();
        b.Property(x => x.ConversionValue).HasPrecision(18, 2);
        // The A/B decider's due query: only runs still testing are in it.
        b.HasIndex(x => x.AbDecideAt).HasFilter("ab_decide_at IS NOT NULL");
        // The scheduler's "next due run" query: status = scheduled ORDER BY scheduled_for.
        b.HasIndex(x => new { x.Status, x.ScheduledFor });
        b.HasIndex(x => new { x.CampaignId, x.Occurrence }).IsUnique();
        b.HasOne<Campaign>().WithMany().HasForeignKey(x => x.CampaignId).OnDelete(DeleteBehavior.Cascade);
    }
}
