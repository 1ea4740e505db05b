using System.Text.Json;
using Herald.Audience;
using Herald.Audit;
using Herald.Auth;
using Herald.Channels;
using Herald.Common;
using Herald.Scheduling;
using Herald.Storage;
using Herald.Templates;
using Herald.Tracking;
using Herald.Workspaces;
using Microsoft.EntityFrameworkCore;

namespace Herald.Campaigns;

/// <summary>
/// Campaign editing, validation and the approval workflow. Every status change goes through
/// <see cref="CampaignStateMachine"/> and is written to the audit log in the same save. Approving
/// creates the first run (the scheduler starts it at its time); pause, resume and cancel also move the
/// campaign's runs, which is what stops and restarts the delivery workers.
/// </summary>
public sealed class CampaignService(
    HeraldDb db, AuditLog audit, TimeProvider clock, FluidMessageRenderer renderer, SchedulerSignal signal,
    RunLauncher launcher, IServiceProvider services)
{
    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    private static readonly JsonSerializerOptions Stored = TemplatesApi.StoredJson;

    public async Task<Campaign> GetAsync(Caller caller, long id, CancellationToken ct) =>
        await db.Set<Campaign>().FirstOrDefaultAsync(c => c.Id == id && c.WorkspaceId == caller.WorkspaceId && c.JourneyId == null, ct)
        ?? throw new NotFoundException($"Campaign {id}");

    public async Task<Paged<CampaignDto>> ListAsync(Caller caller, string? status, string? channel, PageRequest p, CancellationToken ct)
    {
        var q = db.Set<Campaign>().AsNoTracking().Where(c => c.WorkspaceId == caller.WorkspaceId && c.JourneyId == null);
        if (!string.IsNullOrEmpty(status)) q = q.Where(c => c.Status == status);
        if (!string.IsNullOrEmpty(channel)) q = q.Where(c => c.Channels.Contains(channel));
        var total = await q.LongCountAsync(ct);
        var rows = await q.OrderByDescending(c => c.Id).Skip(p.Skip).Take(p.Limit).ToListAsync(ct);
        return new Paged<CampaignDto>(rows.Select(CampaignDto.From).ToList(), total, p.Page, p.Limit);
    }

    public async Task<Campaign> CreateAsync(Caller caller, CampaignInput input, CancellationToken ct)
    {
        var ws = await WorkspaceAsync(caller, ct);
        var now = Now;
        var c = new Campaign { WorkspaceId = caller.WorkspaceId, Name = "", CreatedBy = caller.Actor, CreatedByUserId = caller.UserId, CreatedAt = now, UpdatedAt = now };
        await ApplyAsync(c, input, ws, creating: true, ct, caller);
        db.Set<Campaign>().Add(c);
        await db.SaveChangesAsync(ct);
        audit.Record(caller, "campaign.create", "campaign", c.Id, new { c.Name, c.Channels });
        await db.SaveChangesAsync(ct);
        return c;
    }

    public async Task<Campaign> PatchAsync(Caller caller, long id, CampaignInput input, CancellationToken ct)
    {
        var c = await GetAsync(caller, id, ct);
        CampaignStateMachine.Next(c.Status, CampaignTrigger.Edit);
        await ApplyAsync(c, input, await WorkspaceAsync(caller, ct), creating: false, ct, caller);
        audit.Record(caller, "campaign.update", "campaign", c.Id);
        await SaveAsync(c, ct);
        return c;
    }

    public async Task DeleteAsync(Caller caller, long id, CancellationToken ct)
    {
        var c = await GetAsync(caller, id, ct);
        CampaignStateMachine.Next(c.Status, CampaignTrigger.Delete);
        db.Set<Campaign>().Remove(c);
        audit.Record(caller, "campaign.delete", "campaign", c.Id, new { c.Name });
        await db.SaveChangesAsync(ct);
    }

    public async Task<Campaign> SubmitAsync(Caller caller, long id, CancellationToken ct)
    {
        var c = await GetAsync(caller, id, ct);
        var ws = await WorkspaceAsync(caller, ct);
        var to = CampaignStateMachine.Submit(c.Status, ws.ApprovalRequired);
        // A draft may have been saved before its time passed: check the schedule again now.
        await ApplyAsync(c, new CampaignInput(), ws, creating: false, ct);
        c.Status = to;
        c.SubmittedBy = caller.Actor;
        c.RejectionReason = null;
        audit.Record(caller, "campaign.submit", "campaign", c.Id, new { status = to });
        if (to == CampaignStatus.Approved)
        {
            c.ApprovedBy = "auto";
            c.ApprovedAt = Now;
            await ScheduleFirstRunAsync(c, ws, ct);
        }
        await SaveAsync(c, ct);
        if (to == CampaignStatus.Approved) await signal.NotifyAsync(db, ct);
        return c;
    }

    public async Task<Campaign> ApproveAsync(Caller caller, long id, CancellationToken ct)
    {
        var c = await GetAsync(caller, id, ct);
        var to = CampaignStateMachine.Next(c.Status, CampaignTrigger.Approve);
        EnsureNotAuthor(caller, c, "approve");
        var ws = await WorkspaceAsync(caller, ct);
        c.Status = to;
        c.ApprovedBy = caller.Actor;
        c.ApprovedAt = Now;
        await ScheduleFirstRunAsync(c, ws, ct);
        audit.Record(caller, "campaign.approve", "campaign", c.Id, new { nextRunAt = c.NextRunAt });
        await SaveAsync(c, ct);
        await signal.NotifyAsync(db, ct);
        return c;
    }

    public async Task<Campaign> RejectAsync(Caller caller, long id, string? reason, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(reason)) throw ValidationFailedException.For("reason", "Say why the campaign is rejected.");
        var c = await GetAsync(caller, id, ct);
        var to = CampaignStateMachine.Next(c.Status, CampaignTrigger.Reject);
        EnsureNotAuthor(caller, c, "reject");
        c.Status = to;
        c.RejectionReason = reason.Trim().Length > 2000 ? reason.Trim()[..2000] : reason.Trim();
        audit.Record(caller, "campaign.reject", "campaign", c.Id, new { reason = c.RejectionReason });
        await SaveAsync(c, ct);
        return c;
    }

    /// <summary>Starts a run now, outside the schedule. A one-time schedule's pending run is replaced (it would send twice).</summary>
    public async Task<(Campaign Campaign, CampaignRun Run)> SendNowAsync(Caller caller, long id, CancellationToken ct)
    {
        var c = await GetAsync(caller, id, ct);
        CampaignStateMachine.Next(c.Status, CampaignTrigger.SendNow);
        var ws = await WorkspaceAsync(caller, ct);
        var schedule = RunLauncher.CompileStored(c, ws.Timezone);
        if (schedule is not { IsRepeating: true })
            await db.Set<CampaignRun>().Where(r => r.CampaignId == c.Id && CampaignStateMachine.Runs.Replaceable.Contains(r.Status)).ExecuteDeleteAsync(ct);
        var now = Now;
        var run = new CampaignRun
        {
            WorkspaceId = c.WorkspaceId, CampaignId = c.Id, Occurrence = await NextOccurrenceAsync(c.Id, ct), ScheduledFor = now,
            StartedAt = now, Status = RunStatus.Starting, ClaimedBy = "send-now", LeaseUntil = launcher.LeaseFrom(now),
        };
        db.Set<CampaignRun>().Add(run);
        audit.Record(caller, "campaign.send", "campaign", c.Id);
        await SaveAsync(c, ct);
        await launcher.LaunchAsync(run.Id, misfired: false, now, ct);
        await db.Entry(c).ReloadAsync(ct);
        await db.Entry(run).ReloadAsync(ct);
        return (c, run);
    }

    public async Task<Campaign> PauseAsync(Caller caller, long id, CancellationToken ct)
    {
        var c = await GetAsync(caller, id, ct);
        c.Status = CampaignStateMachine.Next(c.Status, CampaignTrigger.Pause);
        c.StatusReason = "Paused by " + caller.Actor;
        audit.Record(caller, "campaign.pause", "campaign", c.Id);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await SaveAsync(c, ct);
        await db.Set<CampaignRun>().Where(r => r.CampaignId == c.Id && CampaignStateMachine.Runs.Pausable.Contains(r.Status))
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, RunStatus.Paused), ct);
        await tx.CommitAsync(ct);
        return c;
    }

    public async Task<Campaign> ResumeAsync(Caller caller, long id, CancellationToken ct)
    {
        var c = await GetAsync(caller, id, ct);
        c.Status = CampaignStateMachine.Next(c.Status, CampaignTrigger.Resume);
        c.StatusReason = null;
        audit.Record(caller, "campaign.resume", "campaign", c.Id);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await SaveAsync(c, ct);
        var started = CampaignStateMachine.Runs.Resumed(started: true);
        var notStarted = CampaignStateMachine.Runs.Resumed(started: false);
        // A run paused while its audience was still being written goes back to starting: its start goes on (or, if
        // the node doing it died meanwhile, is claimed again once its lease passes) and moves it to running.
        await db.Set<CampaignRun>().Where(r => r.CampaignId == c.Id && r.Status == RunStatus.Paused)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, r => r.Materializing ? RunStatus.Starting : r.StartedAt != null ? started : notStarted), ct);
        await tx.CommitAsync(ct);
        await signal.NotifyAsync(db, ct);
        return c;
    }

    public async Task<Campaign> CancelAsync(Caller caller, long id, CancellationToken ct)
    {
        var c = await GetAsync(caller, id, ct);
        c.Status = CampaignStateMachine.Next(c.Status, CampaignTrigger.Cancel);
        c.StatusReason = "Cancelled by " + caller.Actor;
        c.NextRunAt = null;
        audit.Record(caller, "campaign.cancel", "campaign", c.Id);
        var now = Now;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await SaveAsync(c, ct);
        await db.Set<CampaignRun>().Where(r => r.CampaignId == c.Id && CampaignStateMachine.Runs.Cancellable.Contains(r.Status))
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, RunStatus.Cancelled).SetProperty(r => r.FinishedAt, now), ct);
        await tx.CommitAsync(ct);
        return c;
    }

    /// <summary>Replaces the schedule of a draft or approved campaign; an approved one's pending run moves to the new time.</summary>
    public async Task<Campaign> RescheduleAsync(Caller caller, long id, ScheduleDefinition? schedule, CancellationToken ct)
    {
        if (schedule is null) throw ValidationFailedException.For("schedule", "Give the new schedule.");
        var c = await GetAsync(caller, id, ct);
        CampaignStateMachine.Next(c.Status, CampaignTrigger.Reschedule);
        var ws = await WorkspaceAsync(caller, ct);
        await ApplyAsync(c, new CampaignInput { Schedule = schedule }, ws, creating: false, ct);
        audit.Record(caller, "campaign.reschedule", "campaign", c.Id, new { schedule });
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (c.Status == CampaignStatus.Approved)
        {
            await db.Set<CampaignRun>().Where(r => r.CampaignId == c.Id && CampaignStateMachine.Runs.Replaceable.Contains(r.Status)).ExecuteDeleteAsync(ct);
            await ScheduleFirstRunAsync(c, ws, ct);
        }
        await SaveAsync(c, ct);
        await tx.CommitAsync(ct);
        await signal.NotifyAsync(db, ct);
        return c;
    }

    public async Task<Paged<CampaignRunDto>> ListRunsAsync(Caller caller, long id, PageRequest p, CancellationToken ct)
    {
        var c = await GetAsync(caller, id, ct);
        var q = db.Set<CampaignRun>().AsNoTracking().Where(r => r.CampaignId == c.Id);
        var total = await q.LongCountAsync(ct);
        var rows = await q.OrderByDescending(r => r.Occurrence).Skip(p.Skip).Take(p.Limit).ToListAsync(ct);
        return new Paged<CampaignRunDto>(rows.Select(CampaignRunDto.From).ToList(), total, p.Page, p.Limit);
    }

    private static void EnsureNotAuthor(Caller caller, Campaign c, string verb)
    {
        var same = (caller.UserId is { } uid && c.CreatedByUserId == uid) || caller.Actor == c.CreatedBy;
        if (same) throw new ForbiddenException($"The author of a campaign cannot {verb} it; another approver must.");
    }

    /// <summary>Creates the campaign's first run at its schedule's first due time (now for <c>now</c>).</summary>
    private async Task ScheduleFirstRunAsync(Campaign c, Workspace ws, CancellationToken ct)
    {
        var now = Now;
        var schedule = RunLauncher.CompileStored(c, ws.Timezone) ?? new Schedule.Now();
        DateTime? first = schedule switch
        {
            Schedule.Now => now,
            Schedule.Once o => o.AtUtc < now ? now : o.AtUtc, // allowPast: due now, not a misfire
            // A recurring schedule approved after its start begins at its next slot, not with a catch-up run.
            _ => schedule.Next(now, 0, inclusive: true),
        };
        if (first is { } f && c.EndAt is { } end && f > end) first = null;
        c.NextRunAt = first;
        if (first is null) return;
        db.Set<CampaignRun>().Add(new CampaignRun
        {
            WorkspaceId = c.WorkspaceId, CampaignId = c.Id, Occurrence = await NextOccurrenceAsync(c.Id, ct), ScheduledFor = first.Value, Status = RunStatus.Scheduled,
        });
    }

    private async Task<int> NextOccurrenceAsync(long campaignId, CancellationToken ct) =>
        (await db.Set<CampaignRun>().Where(r => r.CampaignId == campaignId).MaxAsync(r => (int?)r.Occurrence, ct) ?? 0) + 1;

    private async Task SaveAsync(Campaign c, CancellationToken ct)
    {
        c.UpdatedAt = Now;
        c.Version++;
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateConcurrencyException)
        {
            var current = await db.Set<Campaign>().AsNoTracking().Where(x => x.Id == c.Id).Select(x => x.Status).FirstOrDefaultAsync(ct);
            throw new ConflictException("The campaign changed meanwhile (e.g. a run started); read it again and retry.", current);
        }
    }

    private async Task<Workspace> WorkspaceAsync(Caller caller, CancellationToken ct) =>
        await db.Set<Workspace>().AsNoTracking().FirstAsync(w => w.Id == caller.WorkspaceId, ct);

    /// <summary>
    /// Overlays <paramref name="input"/> (null = unchanged) on the campaign, then validates the whole
    /// result so every error is reported at once, naming its field.
    /// </summary>
    private async Task ApplyAsync(Campaign c, CampaignInput input, Workspace ws, bool creating, CancellationToken ct, Caller? caller = null)
    {
        var v = new Validation();
        var now = Now;

        var name = input.Name?.Trim() ?? c.Name;
        if (string.IsNullOrEmpty(name)) v.Add("name", "Give the campaign a name.");
        else if (name.Length > 200) v.Add("name", "At most 200 characters.");

        var channels = input.Channels?.Select(x => x?.Trim().ToLowerInvariant() ?? "").ToList()
            ?? (input.Channel is not null ? [input.Channel.Trim().ToLowerInvariant()] : c.Channels);
        if (input.Channel is not null && input.Channels is not null && !(channels.Count == 1 && channels[0] == input.Channel.Trim().ToLowerInvariant()))
            v.Add("channel", "Give either channel or channels, not both.");
        if (channels.Count == 0) v.Add("channels", $"Give the channel (one of {string.Join(", ", ChannelNames.All)}).");
        foreach (var ch in channels.Where(ch => !ChannelNames.IsKnown(ch)))
            v.Add("channels", $"Unknown channel '{ch}': use {string.Join(", ", ChannelNames.All)}.");
        if (channels.Distinct().Count() != channels.Count) v.Add("channels", "A channel is listed twice.");

        var mode = input.ChannelMode?.Trim().ToLowerInvariant() ?? c.ChannelMode;
        if (mode is not ("all" or "fallback")) v.Add("channelMode", "channelMode is all or fallback.");

        var content = input.Content ?? JsonSerializer.Deserialize<ChannelContent>(c.Content, HeraldJson.Options) ?? new ChannelContent();
        var templateId = input.TemplateId ?? (creating ? null : c.TemplateId);
        Template? template = null;
        if (templateId is { } tid)
        {
            template = await db.Set<Template>().AsNoTracking().FirstOrDefaultAsync(t => t.Id == tid && t.WorkspaceId == c.WorkspaceId, ct);
            if (template is null) v.Add("templateId", $"Template {tid} was not found in this workspace.");
            else if (!channels.Contains(template.Channel)) v.Add("templateId", $"Template {tid} is for {template.Channel}, which is not one of the campaign's channels.");
        }
        var merged = Merge(content, template);
        foreach (var ch in channels.Where(ChannelNames.IsKnown))
        {
            if (!Has(merged, ch)) v.Add($"content.{ch}", $"Give the {ch} content, or a templateId of a {ch} template.");
            else renderer.Validate(ch, merged, v, "content");
        }

        var productId = input.ProductId ?? c.ProductId;
        var mediaId = input.MediaId ?? c.MediaId;
        // Product, media and the synced WhatsApp template (exists, approved, language, parameters, header media).
        if (services.GetService<Herald.Assets.CampaignAssets>() is { } assets)
            await assets.ValidateAsync(c.WorkspaceId, channels, merged, productId, mediaId, v, ct);

        var audience = input.Audience ?? JsonSerializer.Deserialize<AudienceDefinition>(c.Audience, HeraldJson.Options) ?? new AudienceDefinition();
        if (audience.IsEmpty)
            v.Add("audience", "The audience is empty: give segmentIds, listIds, contactIds, filter, recipients or all: true.");
        else if (services.GetService<IAudienceQuery>() is { } query)
            v.Merge("audience", await query.ValidateAsync(c.WorkspaceId, audience, ct));

        var scheduleDef = input.Schedule ?? JsonSerializer.Deserialize<ScheduleDefinition>(c.Schedule, HeraldJson.Options) ?? new ScheduleDefinition { Type = "now" };
        // The past check applies when the schedule is given or the campaign is submitted (it may have aged as a draft).
        var schedule = scheduleDef.Compile(ws.Timezone, now, v, "schedule", checkPast: true);

        var windowDef = input.SendWindow ?? (c.SendWindow is null ? null : JsonSerializer.Deserialize<SendWindowDefinition>(c.SendWindow, HeraldJson.Options));
        windowDef?.Compile(v);

        List<Variant>? variants = null;
        var variantInputs = input.Variants ?? (c.Variants is null ? null : JsonSerializer.Deserialize<List<Variant>>(c.Variants, HeraldJson.Options)?
            .Select(x => new VariantInput { Name = x.Name, Weight = x.Weight, Content = x.Content }).ToList());
        if (variantInputs is { Count: > 0 })
        {
            variants = [];
            for (var i = 0; i < variantInputs.Count; i++)
            {
                var vi = variantInputs[i];
                var vn = vi.Name?.Trim();
                if (string.IsNullOrEmpty(vn)) v.Add($"variants[{i}].name", "Give the variant a name.");
                else if (variantInputs.Take(i).Any(o => o.Name?.Trim() == vn)) v.Add($"variants[{i}].name", $"Variant name '{vn}' is used twice.");
                if (vi.Weight is not (>= 0 and <= 100)) v.Add($"variants[{i}].weight", "Give a weight from 0 to 100.");
                var vc = vi.Content ?? new ChannelContent();
                foreach (var ch in channels.Where(ch => ChannelNames.IsKnown(ch) && Has(vc, ch))) renderer.Validate(ch, vc, v, $"variants[{i}].content");
                variants.Add(new Variant { Name = vn ?? "", Weight = vi.Weight ?? 0, Content = vc });
            }
            if (variants.Sum(x => x.Weight) <= 0) v.Add("variants", "The variants' weights must add up to more than 0.");
        }
        // An A/B test phase needs the variants it tests; {} removes it, absent keeps it.
        var abTest = input.AbTest is not null ? AbTestDefinition.Validate(input.AbTest, variants, v)
            : AbTestDefinition.Parse(c.AbTest) is { } kept ? AbTestDefinition.Validate(new AbTestInput { TestPercent = kept.TestPercent, Metric = kept.Metric, WaitFor = kept.WaitFor }, variants, v)
            : null;

        int? perSecond = input.RateLimit is null ? c.RateLimitPerSecond : input.RateLimit.PerSecond;
        int? perMinute = input.RateLimit is null ? c.RateLimitPerMinute : input.RateLimit.PerMinute;
        if (perSecond is < 1) v.Add("rateLimit.perSecond", "perSecond must be 1 or more.");
        if (perMinute is < 1) v.Add("rateLimit.perMinute", "perMinute must be 1 or more.");

        var endAt = c.EndAt;
        if (input.EndAt is not null)
        {
            var zone = Zones.Find(scheduleDef.Timezone) ?? Zones.Find(ws.Timezone) ?? TimeZoneInfo.Utc;
            endAt = Zones.ParseInstant(input.EndAt, zone);
            if (endAt is null) v.Add("endAt", "Not a time: use ISO 8601 such as 2026-12-31T23:59:00.");
        }
        if (endAt is { } e && schedule is not null)
        {
            var first = schedule.First(now) ?? now;
            if (e <= first) v.Add("endAt", $"endAt ({e:O}) must be after the first run ({first:O}).");
        }

        v.ThrowIfInvalid();
        // Ad-hoc recipients become contacts when the campaign is saved; the stored audience names them by id.
        if (caller is not null && audience.Recipients is { Count: > 0 } && services.GetService<AudienceRecipients>() is { } recipients)
            audience = await recipients.MaterializeAsync(caller, audience, ct);
        c.Name = name;
        c.Channels = channels;
        c.ChannelMode = mode;
        c.Content = TemplatesApi.Serialize(content);
        c.TemplateId = templateId;
        c.Audience = JsonSerializer.Serialize(audience, Stored);
        c.Schedule = JsonSerializer.Serialize(scheduleDef, Stored);
        c.SendWindow = windowDef is null ? null : JsonSerializer.Serialize(windowDef, Stored);
        c.Variants = variants is null ? null : JsonSerializer.Serialize(variants, Stored);
        c.AbTest = abTest is null ? null : JsonSerializer.Serialize(abTest, Stored);
        c.Tracking = input.Tracking is null ? c.Tracking : JsonSerializer.Serialize(input.Tracking.ApplyTo(LinkTracker.Settings(c.Tracking)), Stored);
        c.RateLimitPerSecond = perSecond;
        c.RateLimitPerMinute = perMinute;
        c.TestMode = input.TestMode ?? c.TestMode;
        c.EndAt = endAt;
        c.ProductId = productId;
        c.MediaId = mediaId;
    }

    /// <summary>The campaign's content with the template's filling the channel it is written for (inline content wins).</summary>
    public static ChannelContent Merge(ChannelContent inline, Template? template)
    {
        if (template is null) return inline;
        var t = JsonSerializer.Deserialize<ChannelContent>(template.Content, HeraldJson.Options) ?? new ChannelContent();
        return new ChannelContent
        {
            Email = inline.Email ?? t.Email, Sms = inline.Sms ?? t.Sms, Whatsapp = inline.Whatsapp ?? t.Whatsapp,
            Push = inline.Push ?? t.Push, Webhook = inline.Webhook ?? t.Webhook,
        };
    }

    private static bool Has(ChannelContent c, string channel) => channel switch
    {
        ChannelNames.Email => c.Email is not null,
        ChannelNames.Sms => c.Sms is not null,
        ChannelNames.WhatsApp => c.Whatsapp is not null,
        ChannelNames.Push => c.Push is not null,
        ChannelNames.Webhook => c.Webhook is not null,
        _ => false,
    };
}
