using System.Collections.Concurrent;
using System.Text.Json;
using Herald.Campaigns;
using Herald.Channels;
using Herald.Common;
using Herald.Contacts;
using Herald.Delivery;
using Herald.Storage;
using Herald.Templates;
using Microsoft.EntityFrameworkCore;

namespace Herald.Journeys;

/// <summary>The contact fields a journey step needs, loaded once per claimed batch.</summary>
public sealed record JourneyContact(long Id, string? Email, string? Phone, string? Timezone, bool Deleted, IReadOnlyDictionary<string, string> Consent);

/// <summary>One send step for one enrollment.</summary>
public sealed record JourneySendRequest(
    long WorkspaceId, long JourneyId, int Version, long EnrollmentId, int Entry, StepDef Step, JourneyContact Contact, bool TestMode, DateTime Now);

/// <summary>What a send step did: a pending delivery (<c>pending</c>) or a skipped one with its reason.</summary>
public sealed record JourneySendOutcome(long DeliveryId, string Status, string? Reason);

/// <summary>
/// How the journey engine hands a message to the delivery pipeline. <see cref="PrepareAsync"/> runs
/// before the step's transaction; <see cref="SendAsync"/> runs inside it (same <see cref="HeraldDb"/>),
/// so the message exists exactly when the enrollment moved past the step.
/// </summary>
public interface IJourneySender
{
    Task PrepareAsync(JourneySendRequest request, CancellationToken ct);
    Task<JourneySendOutcome> SendAsync(JourneySendRequest request, CancellationToken ct);
    /// <summary>The hidden campaign behind a send step of a journey version, if it was ever used.</summary>
    Task<long?> FindStepCampaignAsync(long journeyId, int version, string stepId, CancellationToken ct);
}

/// <summary>
/// Sends through the delivery engine: each send step of a journey version is backed by a hidden
/// campaign (<see cref="Campaign.JourneyId"/> set, status running) with one running
/// <see cref="CampaignRun"/> per entry number (1 for first enrollments; a re-entered contact uses the
/// next run so UNIQUE (run_id, contact_id, channel) stays the idempotency key of the send). A send is
/// one pending delivery row plus the run's counters, written in the step's transaction.
/// </summary>
public sealed class JourneySender(HeraldDb db, JourneyCampaignCache cache) : IJourneySender
{
    public static string CampaignName(long journeyId, int version, string stepId) => $"journey:{journeyId}:v{version}:{stepId}";

    public async Task PrepareAsync(JourneySendRequest r, CancellationToken ct)
    {
        var key = (r.JourneyId, r.Version, r.Step.Id!, r.Entry);
        if (cache.Runs.ContainsKey(key)) return;
        var name = CampaignName(r.JourneyId, r.Version, r.Step.Id!);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var campaign = await db.Set<Campaign>().FirstOrDefaultAsync(c => c.JourneyId == r.JourneyId && c.Name == name, ct);
                if (campaign is null)
                {
                    var content = new ChannelContent();
                    switch (r.Step.Channel)
                    {
                        case ChannelNames.Email: content.Email = r.Step.Content?.Email; break;
                        case ChannelNames.Sms: content.Sms = r.Step.Content?.Sms; break;
                        case ChannelNames.WhatsApp: content.Whatsapp = r.Step.Content?.Whatsapp; break;
                        case ChannelNames.Push: content.Push = r.Step.Content?.Push; break;
                        case ChannelNames.Webhook: content.Webhook = r.Step.Content?.Webhook; break;
                    }
                    campaign = new Campaign
                    {
                        WorkspaceId = r.WorkspaceId, Name = name, JourneyId = r.JourneyId, Channels = [r.Step.Channel!],
                        Content = JsonSerializer.Serialize(content, HeraldJson.Options),
                        TemplateId = long.TryParse(r.Step.TemplateId, out var t) ? t : null,
                        Status = CampaignStatus.Running, TestMode = r.TestMode, CreatedBy = "system",
                        CreatedAt = r.Now, UpdatedAt = r.Now,
                    };
                    db.Add(campaign);
                    await db.SaveChangesAsync(ct);
                }
                var run = await db.Set<CampaignRun>().FirstOrDefaultAsync(x => x.CampaignId == campaign.Id && x.Occurrence == r.Entry, ct);
                if (run is null)
                {
                    run = new CampaignRun
                    {
                        WorkspaceId = r.WorkspaceId, CampaignId = campaign.Id, Occurrence = r.Entry, ScheduledFor = r.Now,
                        StartedAt = r.Now, Status = RunStatus.Running, ClaimedBy = "journey",
                    };
                    db.Add(run);
                    await db.SaveChangesAsync(ct);
                }
                cache.Runs[key] = (campaign.Id, run.Id);
                cache.Campaigns[(r.JourneyId, r.Version, r.Step.Id!)] = campaign.Id;
                return;
            }
            catch (DbUpdateException) when (attempt < 2)
            {
                // Another node created the same campaign or run first (unique index); read theirs.
                db.ChangeTracker.Clear();
            }
        }
    }

    public async Task<JourneySendOutcome> SendAsync(JourneySendRequest r, CancellationToken ct)
    {
        var (campaignId, runId) = cache.Runs[(r.JourneyId, r.Version, r.Step.Id!, r.Entry)];
        var channel = r.Step.Channel!;
        var c = r.Contact;
        var address = channel switch
        {
            ChannelNames.Email => c.Email,
            ChannelNames.Sms or ChannelNames.WhatsApp => c.Phone,
            // Push subscriptions and webhook URLs are resolved by the delivery engine from the contact.
            _ => c.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        string? reason = null;
        if (c.Deleted || string.IsNullOrEmpty(address)) reason = "no_address";
        else if (c.Consent.TryGetValue(channel, out var consent) && consent != ConsentStatus.Subscribed) reason = "unsubscribed";
        else if (r.Step.FrequencyCap is { } cap && JourneyValidator.TryDuration(cap.Period, out var period)
                 && await SentWithinAsync(c.Id, r.Now - period, ct) >= cap.Max) reason = "capped";

        var status = reason is null ? DeliveryStatus.Pending : DeliveryStatus.Skipped;
        // JourneyDeliveryInsert: UNIQUE (run_id, contact_id, channel) makes a repeated step a no-op.
        var ids = await JourneySql.QueryAsync(db, """
            INSERT INTO delivery (workspace_id, run_id, campaign_id, journey_enrollment_id, contact_id, channel, address, status, reason,
                                  attempts, next_attempt_at, test, created_at, finished_at)
            VALUES (@ws, @run, @campaign, @enrollment, @contact, @channel, @address, @status, @reason, 0, @now, @test, @now, @finished)
            ON CONFLICT DO NOTHING
            RETURNING id
            """, x => x.GetInt64(0), ct,
            ("ws", r.WorkspaceId), ("run", runId), ("campaign", campaignId), ("enrollment", r.EnrollmentId), ("contact", c.Id),
            ("channel", channel), ("address", address ?? ""), ("status", status), ("reason", reason), ("now", r.Now), ("test", r.TestMode),
            ("finished", reason is null ? null : r.Now));
        if (ids.Count == 0)
        {
            var existing = await db.Set<DeliveryRow>().AsNoTracking()
                .Where(d => d.RunId == runId && d.ContactId == c.Id && d.Channel == channel).Select(d => new { d.Id, d.Status, d.Reason }).FirstAsync(ct);
            return new JourneySendOutcome(existing.Id, existing.Status, existing.Reason);
        }
        var counter = reason is null ? "pending = pending + 1" : "skipped = skipped + 1";
        await JourneySql.ExecuteAsync(db, $"UPDATE campaign_run SET total = total + 1, {counter} WHERE id = @run", ct, ("run", runId));
        return new JourneySendOutcome(ids[0], status, reason);
    }

    public async Task<long?> FindStepCampaignAsync(long journeyId, int version, string stepId, CancellationToken ct)
    {
        if (cache.Campaigns.TryGetValue((journeyId, version, stepId), out var id)) return id;
        var name = CampaignName(journeyId, version, stepId);
        var found = await db.Set<Campaign>().AsNoTracking().Where(c => c.JourneyId == journeyId && c.Name == name).Select(c => (long?)c.Id).FirstOrDefaultAsync(ct);
        if (found is { } f) cache.Campaigns[(journeyId, version, stepId)] = f;
        return found;
    }

    /// <summary>Messages to the contact (any campaign or journey) not skipped or failed since <paramref name="since"/>.</summary>
    private Task<int> SentWithinAsync(long contactId, DateTime since, CancellationToken ct) =>
        db.Set<DeliveryRow>().Where(d => d.ContactId == contactId && d.CreatedAt >= since
            && d.Status != DeliveryStatus.Skipped && d.Status != DeliveryStatus.Failed).CountAsync(ct);
}

/// <summary>Hidden campaign and run ids per journey step (they never change once made).</summary>
public sealed class JourneyCampaignCache
{
    public ConcurrentDictionary<(long Journey, int Version, string Step, int Entry), (long CampaignId, long RunId)> Runs { get; } = new();
    public ConcurrentDictionary<(long Journey, int Version, string Step), long> Campaigns { get; } = new();
}
