using System.Text.Json.Nodes;
using Herald.Channels;
using Herald.Contacts;
using Herald.Delivery;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Herald.Tracking;

/// <summary>What an unsubscribe did: the channels now unsubscribed, and whether this delivery had unsubscribed before.</summary>
public sealed record UnsubscribeOutcome(IReadOnlyList<string> Channels, bool Repeated);

/// <summary>A recorded conversion.</summary>
public sealed record ConversionOutcome(long EventId, long DeliveryId, long? CampaignId, long? RunId, long ContactId, decimal? Value, string? Currency,
    DateTime At, bool FirstForDelivery);

/// <summary>
/// Writes tracking events. Each event is one transaction that locks its delivery row (so two opens of one message
/// cannot both be "first"), appends to <c>delivery_event</c>, sets the delivery's first-open/click time, and moves
/// the run, variant, minute and link counters by exactly what the event changed. Test deliveries and deliveries
/// outside a run record the event but move no counters (they are not in any run's stats).
/// </summary>
public sealed class TrackingRecorder(HeraldDb db, IOptions<TrackingOptions> options, TimeProvider clock)
{
    private readonly TrackingOptions _o = options.Value;

    internal sealed record Target(long Id, long WorkspaceId, long? RunId, long? CampaignId, long ContactId, string Channel, string Address,
        string? Variant, string Status, bool Test, DateTime? SentAt, DateTime? OpenedAt, DateTime? ClickedAt)
    {
        public bool Counts => RunId is not null && !Test;
    }

    private sealed record Click(long Id, DateTime At, long? LinkId, bool Machine);

    /// <summary>DeliveryLockForEvent: the delivery row locked for the rest of the transaction, then read.</summary>
    internal async Task<Target?> LockAsync(long deliveryId, CancellationToken ct)
    {
        // PostgreSQL: a row lock. SQLite: a write first, so the transaction holds the write lock before it reads
        // (a read-then-write transaction could fail to upgrade when another writer got in between).
        await Sql.ExecAsync(db, db.IsPostgres ? "SELECT 1 FROM delivery WHERE id = @d FOR UPDATE" : "UPDATE delivery SET id = id WHERE id = @d", ct, ("d", deliveryId));
        return await db.Set<DeliveryRow>().AsNoTracking().Where(d => d.Id == deliveryId)
            .Select(d => new Target(d.Id, d.WorkspaceId, d.RunId, d.CampaignId, d.ContactId, d.Channel, d.Address, d.Variant, d.Status, d.Test,
                d.SentAt, d.OpenedAt, d.ClickedAt))
            .FirstOrDefaultAsync(ct);
    }

    /// <summary>Why an open or click is a machine's, or null for a person.</summary>
    internal string? MachineReason(string? userAgent, Target t, DateTime now)
    {
        var ua = userAgent?.Trim();
        if (string.IsNullOrEmpty(ua)) return "user_agent";
        // Apple Mail Privacy Protection fetches every image through proxies announcing only this.
        if (ua == "Mozilla/5.0") return "apple_mpp";
        foreach (var fragment in _o.MachineUserAgents)
            if (fragment.Length > 0 && ua.Contains(fragment, StringComparison.OrdinalIgnoreCase)) return "user_agent";
        // Still being recorded as sent (a scanner beat the worker to it; a first-pass row stays pending until then), or only just sent.
        if (t.SentAt is { } sent ? now - sent < _o.MachineAfterSend : t.Status is DeliveryStatus.Sending or DeliveryStatus.Pending) return "after_send";
        return null;
    }

    /// <summary>An open (pixel fetched). False when the delivery does not exist.</summary>
    public async Task<bool> OpenAsync(long deliveryId, string? userAgent, CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var t = await LockAsync(deliveryId, ct);
        if (t is null) return false;
        var reason = MachineReason(userAgent, t, now);
        var first = reason is null && t.OpenedAt is null;
        Add(t, DeliveryEventTypes.Opened, now, reason);
        await db.SaveChangesAsync(ct);
        if (first) await db.Set<DeliveryRow>().Where(d => d.Id == t.Id).ExecuteUpdateAsync(s => s.SetProperty(d => d.OpenedAt, now), ct);
        if (t.Counts)
            await RunStats.ApplyAsync(db, [new StatDelta(t.RunId!.Value, t.Variant, now) { OpensTotal = 1, MachineOpens = reason is null ? 0 : 1, Opened = first ? 1 : 0 }],
                StatParts.All, ct);
        await tx.CommitAsync(ct);
        return true;
    }

    /// <summary>
    /// A click. Returns the link's stored URL to redirect to, or null when the delivery or link does not exist or the
    /// link is not one of the delivery's campaign. A click that completes a burst over every link of the message
    /// within <see cref="TrackingOptions.ClickBurst"/> marks the whole burst as a scanner's, taking back what its
    /// earlier clicks counted.
    /// </summary>
    public async Task<string?> ClickAsync(TrackingToken token, string? userAgent, CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var t = await LockAsync(token.DeliveryId, ct);
        if (t is null) return null;
        var link = await db.Set<TrackedLink>().AsNoTracking().FirstOrDefaultAsync(l => l.Id == token.LinkId, ct);
        if (link is null || link.CampaignId != t.CampaignId) return null;

        var clicks = await db.Set<DeliveryEvent>().AsNoTracking().Where(e => e.DeliveryId == t.Id && e.Type == DeliveryEventTypes.Clicked)
            .Select(e => new Click(e.Id, e.At, e.LinkId, e.Machine)).ToListAsync(ct);
        var reason = MachineReason(userAgent, t, now);
        var reflag = new List<Click>();
        if (reason is null && token.LinkCount >= 2)
        {
            var recent = clicks.Where(c => c.At >= now - _o.ClickBurst).ToList();
            if (recent.Select(c => c.LinkId).Append(link.Id).Distinct().Count() >= token.LinkCount)
            {
                reason = "burst";
                reflag = recent.Where(c => !c.Machine).ToList();
            }
        }

        var humanBefore = clicks.Where(c => !c.Machine).ToList();
        var humanAfter = humanBefore.Except(reflag).Select(c => (c.At, c.LinkId)).ToList();
        if (reason is null) humanAfter.Add((now, link.Id));
        if (reflag.Count > 0)
        {
            var ids = reflag.Select(c => c.Id).ToList();
            await db.Set<DeliveryEvent>().Where(e => ids.Contains(e.Id))
                .ExecuteUpdateAsync(s => s.SetProperty(e => e.Machine, true).SetProperty(e => e.Detail, "burst"), ct);
        }
        Add(t, DeliveryEventTypes.Clicked, now, reason, linkId: link.Id);
        await db.SaveChangesAsync(ct);

        // Per link: every click counts in the total; a delivery counts once per link while it has a human click on it.
        var linksBefore = humanBefore.Select(c => c.LinkId).ToHashSet();
        var linksAfter = humanAfter.Select(c => c.LinkId).ToHashSet();
        foreach (var id in linksBefore.Union(linksAfter).Append(link.Id).Distinct())
        {
            var unique = (linksAfter.Contains(id) ? 1 : 0) - (linksBefore.Contains(id) ? 1 : 0);
            var total = id == link.Id ? 1 : 0;
            if (unique != 0 || total != 0)
                await Sql.ExecAsync(db, "UPDATE tracked_link SET clicks = clicks + @t, unique_clicks = unique_clicks + @u WHERE id = @l",
                    ct, ("t", total), ("u", unique), ("l", id));
        }

        DateTime? firstBefore = humanBefore.Count == 0 ? null : humanBefore.Min(c => c.At);
        DateTime? firstAfter = humanAfter.Count == 0 ? null : humanAfter.Min(c => c.At);
        if (firstAfter != firstBefore)
            await db.Set<DeliveryRow>().Where(d => d.Id == t.Id).ExecuteUpdateAsync(s => s.SetProperty(d => d.ClickedAt, firstAfter), ct);
        if (t.Counts)
        {
            var run = t.RunId!.Value;
            var deltas = new List<StatDelta> { new(run, t.Variant, now) { ClicksTotal = 1, MachineClicks = (reason is null ? 0 : 1) + reflag.Count } };
            // The unique click moves to the minute of the delivery's first human click (or away, when a burst took it back).
            if (firstAfter != firstBefore)
            {
                if (firstBefore is { } b) deltas.Add(new StatDelta(run, t.Variant, b) { Clicked = -1 });
                if (firstAfter is { } a) deltas.Add(new StatDelta(run, t.Variant, a) { Clicked = 1 });
            }
            await RunStats.ApplyAsync(db, deltas, StatParts.All, ct);
        }
        await tx.CommitAsync(ct);
        return link.Url;
    }

    /// <summary>
    /// Unsubscribes the delivery's contact from <paramref name="channels"/> (the delivery's own channel when null), at
    /// once and idempotently: consent set with its history row, the address put on the suppression list (so every
    /// later run skips it), and one <c>unsubscribed</c> event per delivery. Null when the delivery does not exist.
    /// </summary>
    public async Task<UnsubscribeOutcome?> UnsubscribeAsync(long deliveryId, IReadOnlyCollection<string>? channels, string source, CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var t = await LockAsync(deliveryId, ct);
        if (t is null) return null;
        var contact = await db.Set<Contact>().FirstOrDefaultAsync(c => c.Id == t.ContactId && c.WorkspaceId == t.WorkspaceId, ct);
        var chosen = (channels is { Count: > 0 } ? channels : [t.Channel]).Where(ConsentChannels.Contains).Distinct().ToList();
        if (contact is not null)
        {
            var detail = JsonNode.Parse(string.IsNullOrEmpty(contact.ConsentDetail) ? "{}" : contact.ConsentDetail) as JsonObject ?? [];
            foreach (var ch in chosen)
            {
                if (contact.ConsentFor(ch) != ConsentStatus.Unsubscribed)
                {
                    contact.SetConsent(ch, ConsentStatus.Unsubscribed);
                    detail[ch] = new JsonObject { ["at"] = now, ["source"] = source };
                    db.Set<ConsentChange>().Add(new ConsentChange
                    {
                        WorkspaceId = t.WorkspaceId, ContactId = contact.Id, Channel = ch, Status = ConsentStatus.Unsubscribed, Source = source, At = now,
                    });
                }
                var address = ch == t.Channel ? t.Address : ch == ChannelNames.Email ? contact.Email : ch is ChannelNames.Sms or ChannelNames.WhatsApp ? contact.Phone : null;
                if (!string.IsNullOrEmpty(address))
                    await Sql.ExecAsync(db, """
                        INSERT INTO suppression (workspace_id, channel, address, reason, created_at) VALUES (@w, @c, @a, 'unsubscribed', @now)
                        ON CONFLICT (workspace_id, channel, address) DO NOTHING
                        """, ct, ("w", t.WorkspaceId), ("c", ch), ("a", address), ("now", db.IsPostgres ? now : Sql.SqliteTime(now)));
            }
            contact.ConsentDetail = detail.ToJsonString();
            contact.UpdatedAt = now;
        }
        var repeated = await db.Set<DeliveryEvent>().AnyAsync(e => e.DeliveryId == t.Id && e.Type == DeliveryEventTypes.Unsubscribed, ct);
        if (!repeated) Add(t, DeliveryEventTypes.Unsubscribed, now, null, detail: string.Join(',', chosen));
        await db.SaveChangesAsync(ct);
        if (!repeated && t.Counts)
            await RunStats.ApplyAsync(db, [new StatDelta(t.RunId!.Value, t.Variant, now) { Unsubscribed = 1 }], StatParts.All, ct);
        await tx.CommitAsync(ct);
        return new UnsubscribeOutcome(chosen, repeated);
    }

    /// <summary>Channels a contact holds consent for.</summary>
    public static readonly string[] ConsentChannels = [ChannelNames.Email, ChannelNames.Sms, ChannelNames.WhatsApp, ChannelNames.Push];

    /// <summary>A conversion credited to a delivery: counted once per delivery in <c>converted</c>, every time in <c>conversions</c> and the value.</summary>
    public async Task<ConversionOutcome?> ConvertAsync(long deliveryId, decimal? value, string? currency, DateTime at, string source, CancellationToken ct)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var t = await LockAsync(deliveryId, ct);
        if (t is null) return null;
        var first = !await db.Set<DeliveryEvent>().AnyAsync(e => e.DeliveryId == t.Id && e.Type == DeliveryEventTypes.Converted, ct);
        var e = Add(t, DeliveryEventTypes.Converted, at, null, detail: source);
        e.Value = value;
        e.Currency = currency;
        await db.SaveChangesAsync(ct);
        if (t.Counts)
            await RunStats.ApplyAsync(db, [new StatDelta(t.RunId!.Value, t.Variant, at) { Conversions = 1, ConversionValue = value ?? 0, Converted = first ? 1 : 0 }],
                StatParts.All, ct);
        await tx.CommitAsync(ct);
        return new ConversionOutcome(e.Id, t.Id, t.CampaignId, t.RunId, t.ContactId, value, currency, at, first);
    }

    private DeliveryEvent Add(Target t, string type, DateTime at, string? machineReason, long? linkId = null, string? detail = null)
    {
        var e = new DeliveryEvent
        {
            WorkspaceId = t.WorkspaceId, DeliveryId = t.Id, ContactId = t.ContactId, CampaignId = t.CampaignId, RunId = t.RunId, Type = type, At = at,
            LinkId = linkId, Machine = machineReason is not null, Detail = machineReason ?? detail,
        };
        db.Set<DeliveryEvent>().Add(e);
        return e;
    }
}
