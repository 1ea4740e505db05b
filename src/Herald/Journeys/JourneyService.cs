using System.Text.Json;
using System.Text.Json.Serialization;
using Herald.Audience;
using Herald.Audit;
using Herald.Auth;
using Herald.Common;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;

namespace Herald.Journeys;

public sealed record JourneyDto(string Id, string Name, string Status, int Version, JsonElement Trigger, JsonElement Steps,
    JsonElement? SendWindow, string Reentry, IReadOnlyList<string> ExitOn, bool TestMode, DateTime CreatedAt, DateTime UpdatedAt, DateTime? ActivatedAt)
{
    public static JourneyDto From(Journey j) => new(j.Id.ToString(), j.Name, j.Status, j.Version,
        JsonDocument.Parse(j.Trigger).RootElement, JsonDocument.Parse(j.Steps).RootElement,
        j.SendWindow is null ? null : JsonDocument.Parse(j.SendWindow).RootElement, j.Reentry, j.ExitOn, j.TestMode,
        j.CreatedAt, j.UpdatedAt, j.ActivatedAt);
}

public sealed class EnrollInput
{
    public List<string>? ContactIds { get; set; }
}

public sealed record EnrollResult(int Requested, int Enrolled, int Skipped);

public sealed record EnrollmentDto(string Id, string ContactId, int Version, int Entry, string? StepId, string State, DateTime? NextActionAt,
    int Attempts, string? LastError, DateTime EnteredAt, DateTime? ExitedAt, JsonElement History);

public sealed record JobDto(string? Id, string EnrollmentId, string StepId, string? StepType, string Status, string? Outcome, string? Error, DateTime? At);

public sealed record StepCounts(string StepId, int Active, int Waiting);

public sealed record JourneyStatusDto(string JourneyId, string Status, int Version,
    IReadOnlyDictionary<string, int> Enrollments, IReadOnlyList<StepCounts> ByStep, IReadOnlyDictionary<string, int> Jobs);

/// <summary>Creating, editing (versioning), activating, pausing journeys and reading their progress.</summary>
public sealed class JourneyService(HeraldDb db, AuditLog audit, TimeProvider clock, JourneyEnroller enroller, IServiceProvider services)
{
    /// <summary>Stored definitions leave out unset fields.</summary>
    public static readonly JsonSerializerOptions StoreOptions = new(HeraldJson.Options) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    private DateTime Now => clock.GetUtcNow().UtcDateTime;
    private bool AudienceAvailable => services.GetService<IAudienceQuery>() is not null;

    public async Task<Journey> GetAsync(Caller caller, long id, CancellationToken ct) =>
        await db.Set<Journey>().FirstOrDefaultAsync(j => j.Id == id && j.WorkspaceId == caller.WorkspaceId, ct)
        ?? throw new NotFoundException($"Journey {id}");

    public async Task<Paged<JourneyDto>> ListAsync(Caller caller, string? status, PageRequest page, CancellationToken ct)
    {
        var q = db.Set<Journey>().AsNoTracking().Where(j => j.WorkspaceId == caller.WorkspaceId);
        if (!string.IsNullOrEmpty(status)) q = q.Where(j => j.Status == status);
        var total = await q.LongCountAsync(ct);
        var rows = await q.OrderByDescending(j => j.Id).Skip(page.Skip).Take(page.Limit).ToListAsync(ct);
        return new Paged<JourneyDto>(rows.Select(JourneyDto.From).ToList(), total, page.Page, page.Limit);
    }

    public async Task<Journey> CreateAsync(Caller caller, JourneyInput input, CancellationToken ct)
    {
        JourneyValidator.Validate(input, AudienceAvailable).ThrowIfInvalid();
        var now = Now;
        var j = new Journey { WorkspaceId = caller.WorkspaceId, Name = input.Name!.Trim(), CreatedBy = caller.Actor, CreatedAt = now };
        Apply(j, input, now);
        db.Add(j);
        await db.SaveChangesAsync(ct);
        audit.Record(caller, "journey.create", "journey", j.Id);
        await db.SaveChangesAsync(ct);
        return j;
    }

    /// <summary>
    /// Replaces the definition. Once a version has been activated it is frozen: the edit becomes the
    /// next version, new enrollments enter on it and enrolled contacts finish on theirs.
    /// </summary>
    public async Task<Journey> UpdateAsync(Caller caller, long id, JourneyInput input, CancellationToken ct)
    {
        var j = await GetAsync(caller, id, ct);
        JourneyStateMachine.EnsureEditable(j);
        JourneyValidator.Validate(input, AudienceAvailable).ThrowIfInvalid();
        var now = Now;
        var from = j.Version;
        if (await db.Set<JourneyVersion>().AnyAsync(v => v.JourneyId == j.Id && v.Version == j.Version, ct)) j.Version++;
        j.Name = input.Name!.Trim();
        Apply(j, input, now);
        if (j.Status != JourneyStatus.Draft) Snapshot(j, now);
        audit.Record(caller, "journey.update", "journey", j.Id, new { fromVersion = from, version = j.Version });
        await db.SaveChangesAsync(ct);
        return j;
    }

    private static void Apply(Journey j, JourneyInput input, DateTime now)
    {
        j.Trigger = JsonSerializer.Serialize(input.Trigger, StoreOptions);
        j.TriggerType = input.Trigger!.Type!;
        j.Steps = JsonSerializer.Serialize(JourneyPlan.Normalize(input.Steps!), StoreOptions);
        j.SendWindow = input.SendWindow is null ? null : JsonSerializer.Serialize(input.SendWindow, StoreOptions);
        j.Reentry = input.Reentry ?? ReentryPolicy.Never;
        j.ExitOn = input.ExitOn?.Select(e => e.Trim()).Distinct().ToList() ?? [];
        j.TestMode = input.TestMode ?? false;
        j.NextSweepAt = null;
        j.UpdatedAt = now;
    }

    private void Snapshot(Journey j, DateTime now) =>
        db.Add(new JourneyVersion { JourneyId = j.Id, Version = j.Version, Trigger = j.Trigger, Steps = j.Steps, SendWindow = j.SendWindow, CreatedAt = now });

    public async Task<Journey> ActivateAsync(Caller caller, long id, CancellationToken ct)
    {
        var j = await GetAsync(caller, id, ct);
        // Re-check: a definition saved before a feature went away (segments) must not start.
        var input = new JourneyInput
        {
            Name = j.Name, Trigger = JsonSerializer.Deserialize<TriggerDef>(j.Trigger, HeraldJson.Options),
            Steps = JsonSerializer.Deserialize<List<StepDef>>(j.Steps, HeraldJson.Options),
            SendWindow = j.SendWindow is null ? null : JsonSerializer.Deserialize<SendWindowDef>(j.SendWindow, HeraldJson.Options),
            Reentry = j.Reentry, ExitOn = j.ExitOn, TestMode = j.TestMode,
        };
        JourneyValidator.Validate(input, AudienceAvailable).ThrowIfInvalid();
        JourneyStateMachine.Move(j, JourneyStatus.Active);
        var now = Now;
        if (!await db.Set<JourneyVersion>().AnyAsync(v => v.JourneyId == j.Id && v.Version == j.Version, ct)) Snapshot(j, now);
        j.ActivatedAt ??= now;
        j.UpdatedAt = now;
        audit.Record(caller, "journey.activate", "journey", j.Id, new { j.Version });
        await db.SaveChangesAsync(ct);
        enroller.Wake();
        return j;
    }

    public async Task<Journey> PauseAsync(Caller caller, long id, CancellationToken ct)
    {
        var j = await GetAsync(caller, id, ct);
        JourneyStateMachine.Move(j, JourneyStatus.Paused);
        j.UpdatedAt = Now;
        audit.Record(caller, "journey.pause", "journey", j.Id);
        await db.SaveChangesAsync(ct);
        return j;
    }

    /// <summary>Manual trigger: enrolls the given contacts now (re-entry policy applies; unknown ids are skipped).</summary>
    public async Task<EnrollResult> EnrollAsync(Caller caller, long id, EnrollInput input, CancellationToken ct)
    {
        var j = await GetAsync(caller, id, ct);
        var v = new Validation();
        if (input.ContactIds is not { Count: > 0 }) v.Add("contactIds", "Give at least one contact id.");
        else if (input.ContactIds.Count > Contacts.ContactService.MaxBulk) v.Add("contactIds", $"At most {Contacts.ContactService.MaxBulk} contacts per call.");
        var ids = new List<long>();
        for (var i = 0; i < (input.ContactIds?.Count ?? 0); i++)
            if (long.TryParse(input.ContactIds![i], out var cid)) ids.Add(cid);
            else v.Add($"contactIds[{i}]", "Not a contact id.");
        v.ThrowIfInvalid();
        if (j.Status != JourneyStatus.Active) throw new ConflictException("Only an active journey enrolls contacts.", j.Status);
        var first = JourneyPlan.Parse(j.Steps).FirstStepId!;
        var enrolled = await enroller.EnrollAsync(j, first, ids, ct);
        audit.Record(caller, "journey.enroll", "journey", j.Id, new { requested = ids.Count, enrolled });
        await db.SaveChangesAsync(ct);
        return new EnrollResult(ids.Count, enrolled, ids.Count - enrolled);
    }

    public async Task<JourneyStatusDto> StatusAsync(Caller caller, long id, CancellationToken ct)
    {
        var j = await GetAsync(caller, id, ct);
        var now = Now;
        var enrollments = db.Set<Enrollment>().AsNoTracking().Where(e => e.JourneyId == j.Id);
        var byState = await enrollments.GroupBy(e => e.State).Select(g => new { g.Key, Count = g.Count() }).ToListAsync(ct);
        var states = EnrollmentState.All.ToDictionary(s => s, s => byState.FirstOrDefault(x => x.Key == s)?.Count ?? 0);
        states["total"] = byState.Sum(x => x.Count);
        var byStep = await enrollments.Where(e => e.State == EnrollmentState.Active || e.State == EnrollmentState.Waiting)
            .GroupBy(e => new { e.StepId, e.State }).Select(g => new { g.Key.StepId, g.Key.State, Count = g.Count() }).ToListAsync(ct);
        var steps = byStep.GroupBy(x => x.StepId ?? "")
            .Select(g => new StepCounts(g.Key, g.Where(x => x.State == EnrollmentState.Active).Sum(x => x.Count), g.Where(x => x.State == EnrollmentState.Waiting).Sum(x => x.Count)))
            .OrderBy(s => s.StepId, StringComparer.Ordinal).ToList();
        var open = enrollments.Where(e => e.State == EnrollmentState.Active || e.State == EnrollmentState.Waiting);
        var processing = await open.CountAsync(e => e.LeaseUntil != null && e.LeaseUntil > now, ct);
        var openCount = states[EnrollmentState.Active] + states[EnrollmentState.Waiting];
        var logs = await db.Set<JourneyStepLog>().AsNoTracking().Where(l => l.JourneyId == j.Id)
            .GroupBy(l => l.Status).Select(g => new { g.Key, Count = g.Count() }).ToListAsync(ct);
        var jobs = new Dictionary<string, int>
        {
            [JobStatus.Pending] = openCount - processing,
            [JobStatus.Processing] = processing,
            [JobStatus.Completed] = logs.FirstOrDefault(x => x.Key == JobStatus.Completed)?.Count ?? 0,
            [JobStatus.Failed] = logs.FirstOrDefault(x => x.Key == JobStatus.Failed)?.Count ?? 0,
        };
        return new JourneyStatusDto(j.Id.ToString(), j.Status, j.Version, states, steps, jobs);
    }

    public async Task<Paged<EnrollmentDto>> EnrollmentsAsync(Caller caller, long id, string? state, PageRequest page, CancellationToken ct)
    {
        var j = await GetAsync(caller, id, ct);
        if (state is not null && !EnrollmentState.All.Contains(state)) throw ValidationFailedException.For("state", $"Use one of: {string.Join(", ", EnrollmentState.All)}.");
        var q = db.Set<Enrollment>().AsNoTracking().Where(e => e.JourneyId == j.Id);
        if (state is not null) q = q.Where(e => e.State == state);
        var total = await q.LongCountAsync(ct);
        var rows = await q.OrderByDescending(e => e.Id).Skip(page.Skip).Take(page.Limit).ToListAsync(ct);
        return new Paged<EnrollmentDto>(rows.Select(e => new EnrollmentDto(e.Id.ToString(), e.ContactId.ToString(), e.Version, e.Entry, e.StepId,
            e.State, e.NextActionAt, e.Attempts, e.LastError, e.EnteredAt, e.ExitedAt, JsonDocument.Parse(e.History).RootElement)).ToList(),
            total, page.Page, page.Limit);
    }

    /// <summary>
    /// The step jobs: completed and failed ones are step logs; pending (due or sleeping) and processing
    /// (under a lease) are read off the enrollments' current step. Without a status: the step logs, newest first.
    /// </summary>
    public async Task<Paged<JobDto>> JobsAsync(Caller caller, long id, string? status, PageRequest page, CancellationToken ct)
    {
        var j = await GetAsync(caller, id, ct);
        if (status is not null && !JobStatus.All.Contains(status)) throw ValidationFailedException.For("status", $"Use one of: {string.Join(", ", JobStatus.All)}.");
        var now = Now;
        if (status is JobStatus.Pending or JobStatus.Processing)
        {
            var q = db.Set<Enrollment>().AsNoTracking().Where(e => e.JourneyId == j.Id && (e.State == EnrollmentState.Active || e.State == EnrollmentState.Waiting));
            q = status == JobStatus.Processing ? q.Where(e => e.LeaseUntil != null && e.LeaseUntil > now) : q.Where(e => e.LeaseUntil == null || e.LeaseUntil <= now);
            var total = await q.LongCountAsync(ct);
            var rows = await q.OrderBy(e => e.NextActionAt).Skip(page.Skip).Take(page.Limit).ToListAsync(ct);
            return new Paged<JobDto>(rows.Select(e => new JobDto(null, e.Id.ToString(), e.StepId ?? "", null, status, null, e.LastError, e.NextActionAt)).ToList(),
                total, page.Page, page.Limit);
        }
        var logs = db.Set<JourneyStepLog>().AsNoTracking().Where(l => l.JourneyId == j.Id);
        if (status is not null) logs = logs.Where(l => l.Status == status);
        var count = await logs.LongCountAsync(ct);
        var items = await logs.OrderByDescending(l => l.Id).Skip(page.Skip).Take(page.Limit).ToListAsync(ct);
        return new Paged<JobDto>(items.Select(l => new JobDto(l.Id.ToString(), l.EnrollmentId.ToString(), l.StepId, l.StepType, l.Status, l.Outcome, l.Error, l.At)).ToList(),
            count, page.Page, page.Limit);
    }
}
