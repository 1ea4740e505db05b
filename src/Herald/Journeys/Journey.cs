using Herald.Common;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Herald.Journeys;

/// <summary>
/// A triggered automation: a trigger, ordered steps, a send window, a re-entry policy and exit
/// events. <see cref="Trigger"/>/<see cref="Steps"/> are the editable head; what enrolled contacts
/// run is the immutable <see cref="JourneyVersion"/> of the version they entered on.
/// </summary>
public sealed class Journey
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    public required string Name { get; set; }
    /// <summary>Moves only through <see cref="JourneyStateMachine"/>.</summary>
    public string Status { get; set; } = JourneyStatus.Draft;
    /// <summary>Current version (1-based). Enrollments made now enter on it.</summary>
    public int Version { get; set; } = 1;
    /// <summary>Trigger type, copied out of <see cref="Trigger"/> so observers find journeys by index.</summary>
    public string TriggerType { get; set; } = "";
    /// <summary>JSON <see cref="TriggerDef"/>.</summary>
    public string Trigger { get; set; } = "{}";
    /// <summary>JSON array of <see cref="StepDef"/>.</summary>
    public string Steps { get; set; } = "[]";
    /// <summary>JSON <see cref="SendWindowDef"/> or null (send any time).</summary>
    public string? SendWindow { get; set; }
    public string Reentry { get; set; } = ReentryPolicy.Never;
    /// <summary>Event types that exit active enrollments (e.g. <c>order</c>).</summary>
    public List<string> ExitOn { get; set; } = [];
    public bool TestMode { get; set; }
    public required string CreatedBy { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public DateTime? ActivatedAt { get; set; }
    /// <summary>Next daily evaluation of a date_attribute trigger (UTC); null for other triggers.</summary>
    public DateTime? NextSweepAt { get; set; }
}

/// <summary>Immutable snapshot of a journey's trigger, steps and send window, per version.</summary>
public sealed class JourneyVersion
{
    public long Id { get; set; }
    public long JourneyId { get; set; }
    public int Version { get; set; }
    public string Trigger { get; set; } = "{}";
    public string Steps { get; set; } = "[]";
    public string? SendWindow { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>One contact's pass through one version of a journey; claimed by the engine like a job row.</summary>
public sealed class Enrollment
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    public long JourneyId { get; set; }
    public int Version { get; set; }
    public long ContactId { get; set; }
    /// <summary>1 for a contact's first enrollment in this journey, 2 for the second (re-entry) and so on.</summary>
    public int Entry { get; set; } = 1;
    /// <summary>The step to execute at <see cref="NextActionAt"/>; null once finished.</summary>
    public string? StepId { get; set; }
    public string State { get; set; } = EnrollmentState.Active;
    public DateTime? NextActionAt { get; set; }
    public string? LeaseOwner { get; set; }
    public DateTime? LeaseUntil { get; set; }
    /// <summary>Failed attempts of the current step.</summary>
    public int Attempts { get; set; }
    /// <summary>JSON array of {step, type, at, outcome}: the path the contact took.</summary>
    public string History { get; set; } = "[]";
    public string? LastError { get; set; }
    public DateTime EnteredAt { get; set; }
    public DateTime? ExitedAt { get; set; }
}

/// <summary>One executed (or failed) step of an enrollment: the "jobs" view. Completed rows expire after a retention period; failed rows are kept.</summary>
public sealed class JourneyStepLog
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    public long JourneyId { get; set; }
    public long EnrollmentId { get; set; }
    public required string StepId { get; set; }
    public required string StepType { get; set; }
    /// <summary><see cref="JobStatus.Completed"/> or <see cref="JobStatus.Failed"/>.</summary>
    public required string Status { get; set; }
    /// <summary>What happened (sent, skipped:no_address, then, else, waiting until ...).</summary>
    public string? Outcome { get; set; }
    public string? Error { get; set; }
    public DateTime At { get; set; }
}

public static class JourneyStatus
{
    public const string Draft = "draft";
    public const string Active = "active";
    public const string Paused = "paused";
    public const string Archived = "archived";
}

public static class ReentryPolicy
{
    public const string Never = "never";
    public const string AfterExit = "after_exit";
    public const string Always = "always";
    public static readonly string[] All = [Never, AfterExit, Always];
}

/// <summary>Enrollment states: active (a step is due), waiting (sleeping in a wait), completed (ran out of steps), exited (exit step or exit event), failed (retries exhausted).</summary>
public static class EnrollmentState
{
    public const string Active = "active";
    public const string Waiting = "waiting";
    public const string Completed = "completed";
    public const string Exited = "exited";
    public const string Failed = "failed";
    public static readonly string[] All = [Active, Waiting, Completed, Exited, Failed];
}

/// <summary>Step job states as the jobs view shows them. Pending and processing are derived from enrollments.</summary>
public static class JobStatus
{
    public const string Pending = "pending";
    public const string Processing = "processing";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public static readonly string[] All = [Pending, Processing, Completed, Failed];
}

/// <summary>The journey lifecycle: the one place its transitions are decided.</summary>
public static class JourneyStateMachine
{
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        [JourneyStatus.Draft] = [JourneyStatus.Active, JourneyStatus.Archived],
        [JourneyStatus.Active] = [JourneyStatus.Paused, JourneyStatus.Archived],
        [JourneyStatus.Paused] = [JourneyStatus.Active, JourneyStatus.Archived],
        [JourneyStatus.Archived] = [],
    };

    public static void Move(Journey j, string to)
    {
        if (!Allowed[j.Status].Contains(to))
            throw new ConflictException($"A {j.Status} journey cannot become {to}.", j.Status);
        j.Status = to;
    }

    /// <summary>Edits are allowed until the journey is archived; editing an activated journey makes a new version.</summary>
    public static void EnsureEditable(Journey j)
    {
        if (j.Status == JourneyStatus.Archived) throw new ConflictException("An archived journey cannot be edited.", j.Status);
    }
}

internal sealed class JourneyMap : IEntityTypeConfiguration<Journey>
{
    public void Configure(EntityTypeBuilder<Journey> b)
    {
        b.ToTable("journey");
        b.Property(x => x.Name).HasMaxLength(200);
        b.Property(x => x.Status).HasMaxLength(16);
        b.Property(x => x.TriggerType).HasMaxLength(32);
        b.Property(x => x.Reentry).HasMaxLength(16);
        b.Property(x => x.CreatedBy).HasMaxLength(64);
        b.Property(x => x.Trigger).IsJson();
        b.Property(x => x.Steps).IsJson();
        b.Property(x => x.SendWindow).IsJson();
        // Observers look up the active journeys of a workspace by trigger type on every contact change.
        b.HasIndex(x => new { x.WorkspaceId, x.Status, x.TriggerType });
        b.HasOne<Herald.Workspaces.Workspace>().WithMany().HasForeignKey(x => x.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class JourneyVersionMap : IEntityTypeConfiguration<JourneyVersion>
{
    public void Configure(EntityTypeBuilder<JourneyVersion> b)
    {
        b.ToTable("journey_version");
        b.Property(x => x.Trigger).IsJson();
        b.Property(x => x.Steps).IsJson();
        b.Property(x => x.SendWindow).IsJson();
        b.HasIndex(x => new { x.JourneyId, x.Version }).IsUnique();
        b.HasOne<Journey>().WithMany().HasForeignKey(x => x.JourneyId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class EnrollmentMap : IEntityTypeConfiguration<Enrollment>
{
    public void Configure(EntityTypeBuilder<Enrollment> b)
    {
        b.ToTable("journey_enrollment", t => t.HasCheckConstraint("ck_journey_enrollment_state",
            "state IN ('active','waiting','completed','exited','failed')"));
        b.Property(x => x.StepId).HasMaxLength(64);
        b.Property(x => x.State).HasMaxLength(16);
        b.Property(x => x.LeaseOwner).HasMaxLength(100);
        b.Property(x => x.History).IsJson();
        b.Property(x => x.LastError).HasMaxLength(1000);
        // JourneyEnrollmentClaim: WHERE state IN (active, waiting) AND next_action_at <= now ORDER BY next_action_at.
        b.HasIndex(x => new { x.State, x.NextActionAt });
        // Entry numbers are unique per contact and journey: two triggers racing to enroll the same contact
        // compute the same next entry and one insert does nothing (the re-entry policy stays exact).
        b.HasIndex(x => new { x.JourneyId, x.ContactId, x.Entry }).IsUnique();
        b.HasOne<Journey>().WithMany().HasForeignKey(x => x.JourneyId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne<Herald.Contacts.Contact>().WithMany().HasForeignKey(x => x.ContactId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class JourneyStepLogMap : IEntityTypeConfiguration<JourneyStepLog>
{
    public void Configure(EntityTypeBuilder<JourneyStepLog> b)
    {
        b.ToTable("journey_step_log");
        b.Property(x => x.StepId).HasMaxLength(64);
        b.Property(x => x.StepType).HasMaxLength(16);
        b.Property(x => x.Status).HasMaxLength(16);
        b.Property(x => x.Outcome).HasMaxLength(200);
        b.Property(x => x.Error).HasMaxLength(1000);
        b.HasIndex(x => new { x.JourneyId, x.Status, x.At });
        b.HasIndex(x => x.EnrollmentId);
        // Retention cleanup: DELETE WHERE status = 'completed' AND at < cutoff.
        b.HasIndex(x => new { x.Status, x.At });
        b.HasOne<Journey>().WithMany().HasForeignKey(x => x.JourneyId).OnDelete(DeleteBehavior.Cascade);
    }
}
