using System.Globalization;
using System.Text;
using System.Text.Json;
using Herald.Audit;
using Herald.Auth;
using Herald.Campaigns;
using Herald.Channels;
using Herald.Common;
using Herald.Contacts;
using Herald.Storage;
using Herald.Templates;
using Herald.Workspaces;
using Microsoft.EntityFrameworkCore;

namespace Herald.Delivery;

/// <summary>Reads (stats, deliveries, outbox, analytics) and the two delivery commands (retry-failed, test-send).</summary>
public sealed class DeliveryService(HeraldDb db, AuditLog audit, ChannelRouter router, IServiceProvider services, DeliverySignal signal,
    TimeProvider clock)
{
    private async Task<Campaign> CampaignAsync(Caller caller, long id, CancellationToken ct) =>
        await db.Set<Campaign>().AsNoTracking().FirstOrDefaultAsync(c => c.Id == id && c.WorkspaceId == caller.WorkspaceId, ct)
        ?? throw new NotFoundException("Campaign");

    public Task<CampaignStatsDto> StatsAsync(Caller caller, long campaignId, long? runId, CancellationToken ct) =>
        services.GetRequiredService<Tracking.CampaignStatsSnapshots>().ReadAsync(db, caller.WorkspaceId, campaignId, runId, ct);

    public async Task<Paged<CampaignSummaryDto>> AnalyticsAsync(Caller caller, PageRequest page, CancellationToken ct)
    {
        var q = db.Set<Campaign>().AsNoTracking().Where(c => c.WorkspaceId == caller.WorkspaceId && c.JourneyId == null);
        var total = await q.LongCountAsync(ct);
        var campaigns = await q.OrderByDescending(c => c.Id).Skip(page.Skip).Take(page.Limit).ToListAsync(ct);
        var ids = campaigns.Select(c => c.Id).ToList();
        var runs = await db.Set<CampaignRun>().AsNoTracking().Where(r => ids.Contains(r.CampaignId)).ToListAsync(ct);
        var items = campaigns.Select(c => Tracking.CampaignStatsReader.Summary(c, runs.Where(r => r.CampaignId == c.Id).ToList())).ToList();
        return new Paged<CampaignSummaryDto>(items, total, page.Page, page.Limit);
    }

    private async Task<IQueryable<DeliveryRow>> DeliveriesQueryAsync(Caller caller, long campaignId, string? status, long? runId, CancellationToken ct)
    {
        await CampaignAsync(caller, campaignId, ct);
        var runIds = await db.Set<CampaignRun>().AsNoTracking().Where(r => r.CampaignId == campaignId && r.WorkspaceId == caller.WorkspaceId)
            .Select(r => (long?)r.Id).ToListAsync(ct);
        if (runId is not null) runIds = runIds.Where(r => r == runId).ToList();
        var q = db.Set<DeliveryRow>().AsNoTracking().Where(d => runIds.Contains(d.RunId));
        if (!string.IsNullOrEmpty(status))
        {
            var statuses = status.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var known = new[] { DeliveryStatus.Pending, DeliveryStatus.Sending, DeliveryStatus.Sent, DeliveryStatus.Delivered, DeliveryStatus.Read,
                DeliveryStatus.Failed, DeliveryStatus.Skipped, DeliveryStatus.Unknown };
            if (statuses.Except(known).FirstOrDefault() is { } bad) throw ValidationFailedException.For("status", $"Unknown status '{bad}'. Use {string.Join(", ", known)}.");
            q = q.Where(d => statuses.Contains(d.Status));
        }
        return q;
    }

    public async Task<Paged<DeliveryDto>> DeliveriesAsync(Caller caller, long campaignId, string? status, long? runId, PageRequest page, CancellationToken ct)
    {
        var q = await DeliveriesQueryAsync(caller, campaignId, status, runId, ct);
        var total = await q.LongCountAsync(ct);
        var rows = await q.OrderBy(d => d.Id).Skip(page.Skip).Take(page.Limit).ToListAsync(ct);
        return new Paged<DeliveryDto>(rows.Select(DeliveryDto.From).ToList(), total, page.Page, page.Limit);
    }

    /// <summary>
    /// Streams every matching delivery as CSV (no paging) with its tracking events, keyset by id so memory stays flat:
    /// first open and click, counts, and every event in one cell (<c>type time [machine] [url|value currency|channels]</c>).
    /// </summary>
    public async Task WriteCsvAsync(Caller caller, long campaignId, string? status, long? runId, Stream output, CancellationToken ct)
    {
        var q = await DeliveriesQueryAsync(caller, campaignId, status, runId, ct);
        var links = await db.Set<Tracking.TrackedLink>().AsNoTracking().Where(l => l.CampaignId == campaignId).ToDictionaryAsync(l => l.Id, l => l.Url, ct);
        await using var w = new StreamWriter(output, new UTF8Encoding(false), 64 * 1024);
        await w.WriteLineAsync("id,run_id,contact_id,channel,address,variant,status,reason,attempts,error_code,error_text,provider_message_id,sent_at,finished_at," +
            "opened_at,clicked_at,opens,clicks,unsubscribed,conversions,conversion_value,events");
        long after = 0;
        while (true)
        {
            var a = after;
            var rows = await q.Where(d => d.Id > a).OrderBy(d => d.Id).Take(5000).ToListAsync(ct);
            if (rows.Count == 0) break;
            var ids = rows.Select(d => d.Id).ToList();
            var events = (await db.Set<Tracking.DeliveryEvent>().AsNoTracking().Where(e => ids.Contains(e.DeliveryId)).ToListAsync(ct))
                .OrderBy(e => e.At).ThenBy(e => e.Id).ToLookup(e => e.DeliveryId);
            foreach (var d in rows)
            {
                var ev = events[d.Id].ToList();
                int N(string type) => ev.Count(e => e.Type == type);
                await w.WriteLineAsync(string.Join(',', new[] { d.Id.ToString(CultureInfo.InvariantCulture), d.RunId?.ToString(CultureInfo.InvariantCulture),
                    d.ContactId.ToString(CultureInfo.InvariantCulture), d.Channel, d.Address, d.Variant, d.Status, d.Reason, d.Attempts.ToString(CultureInfo.InvariantCulture),
                    d.ErrorCode, d.ErrorText, d.ProviderMessageId, d.SentAt?.ToString("O"), d.FinishedAt?.ToString("O"), d.OpenedAt?.ToString("O"), d.ClickedAt?.ToString("O"),
                    N(Tracking.DeliveryEventTypes.Opened).ToString(CultureInfo.InvariantCulture), N(Tracking.DeliveryEventTypes.Clicked).ToString(CultureInfo.InvariantCulture),
                    N(Tracking.DeliveryEventTypes.Unsubscribed) > 0 ? "true" : "false", N(Tracking.DeliveryEventTypes.Converted).ToString(CultureInfo.InvariantCulture),
                    ev.Sum(e => e.Value ?? 0).ToString(CultureInfo.InvariantCulture), string.Join("; ", ev.Select(e => Describe(e, links))) }.Select(Csv.Cell)));
            }
            after = rows[^1].Id;
        }
    }

    private static string Describe(Tracking.DeliveryEvent e, IReadOnlyDictionary<long, string> links)
    {
        var s = $"{e.Type} {e.At:O}";
        if (e.Machine) s += $" machine:{e.Detail}";
        if (e.LinkId is { } l) s += " " + links.GetValueOrDefault(l);
        if (e.Value is { } v) s += string.Create(CultureInfo.InvariantCulture, $" {v} {e.Currency}").TrimEnd();
        if (!e.Machine && e.Type == Tracking.DeliveryEventTypes.Unsubscribed) s += " " + e.Detail;
        return s;
    }

    public async Task<Paged<OutboxDto>> OutboxAsync(Caller caller, long? campaignId, PageRequest page, CancellationToken ct)
    {
        var q = db.Set<OutboxMessage>().AsNoTracking().Where(o => o.WorkspaceId == caller.WorkspaceId);
        if (campaignId is { } c) q = q.Where(o => o.CampaignId == c);
        var total = await q.LongCountAsync(ct);
        var rows = await q.OrderByDescending(o => o.Id).Skip(page.Skip).Take(page.Limit).ToListAsync(ct);
        return new Paged<OutboxDto>(rows.Select(o => new OutboxDto(o.Id.ToString(), o.DeliveryId.ToString(), o.CampaignId?.ToString(), o.Channel,
            o.Address, o.Subject, o.Body, o.Html, o.Test, o.CreatedAt)).ToList(), total, page.Page, page.Limit);
    }

    /// <summary>
    /// DeliveryRetryFailed: failed deliveries of the campaign's runs go back to pending with fresh attempts;
    /// counters move with them and a finished run runs again.
    /// </summary>
    public async Task<RetryFailedResult> RetryFailedAsync(Caller caller, long campaignId, CancellationToken ct)
    {
        var campaign = await CampaignAsync(caller, campaignId, ct);
        if (campaign.Status is CampaignStatus.Cancelled or CampaignStatus.Draft or CampaignStatus.PendingApproval)
            throw new ConflictException($"A {campaign.Status} campaign cannot retry deliveries.", campaign.Status);
        var runs = await db.Set<CampaignRun>().AsNoTracking()
            .Where(r => r.CampaignId == campaignId && r.Failed > 0 && (r.Status == RunStatus.Running || r.Status == RunStatus.Completed || r.Status == RunStatus.Paused))
            .Select(r => r.Id).ToListAsync(ct);
        var now = clock.GetUtcNow().UtcDateTime;
        object t = db.IsPostgres ? now : Sql.SqliteTime(now);
        var total = 0;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        foreach (var runId in runs)
        {
            // The variant counters give the re-queued failures back too (their sends count again when they settle).
            var byVariant = await db.Set<DeliveryRow>().Where(d => d.RunId == runId && d.Status == DeliveryStatus.Failed && d.Variant != null)
                .GroupBy(d => d.Variant).Select(g => new { Variant = g.Key, N = g.Count() }).ToListAsync(ct);
            await Tracking.RunStats.ApplyAsync(db, byVariant.Select(x => new Tracking.StatDelta(runId, x.Variant, now) { Failed = -x.N }), Tracking.StatParts.Variant, ct);
            var n = await Sql.ExecAsync(db, """
                UPDATE delivery SET status = 'pending', attempts = 0, next_attempt_at = @now, reason = NULL, error_code = NULL, error_text = NULL, finished_at = NULL
                WHERE run_id = @r AND status = 'failed'
                """, ct, ("now", t), ("r", runId));
            if (n == 0) continue;
            total += n;
            await Sql.ExecAsync(db, """
                UPDATE campaign_run SET failed = failed - @n, pending = pending + @n,
                    status = CASE WHEN status = 'completed' THEN 'running' ELSE status END,
                    finished_at = CASE WHEN status = 'completed' THEN NULL ELSE finished_at END
                WHERE id = @r
                """, ct, ("n", n), ("r", runId));
        }
        if (total > 0)
            await Sql.ExecAsync(db, "UPDATE campaign SET status = 'running', updated_at = @now WHERE id = @c AND status = 'completed'", ct, ("now", t), ("c", campaignId));
        audit.Record(caller, "retry_failed", "campaign", campaignId, new { requeued = total });
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        if (total > 0) await signal.NotifyAsync(db, ct);
        return new RetryFailedResult(total);
    }

    /// <summary>Renders the campaign for a few contacts or raw addresses and sends through the real provider, marked test, outside any run's stats.</summary>
    public async Task<IReadOnlyList<TestSendResult>> TestSendAsync(Caller caller, long campaignId, TestSendInput input, CancellationToken ct)
    {
        var campaign = await CampaignAsync(caller, campaignId, ct);
        var v = new Validation();
        var ids = new List<long>();
        foreach (var (e, i) in (input.ContactIds ?? []).Select((e, i) => (e, i)))
        {
            if (e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var n)) ids.Add(n);
            else if (e.ValueKind == JsonValueKind.String && long.TryParse(e.GetString(), out var s)) ids.Add(s);
            else v.Add($"contactIds[{i}]", "Give a contact id.");
        }
        var addresses = (input.Addresses ?? []).Select(a => a.Trim()).Where(a => a.Length > 0).ToList();
        if (ids.Count + addresses.Count == 0) v.Add("contactIds", "Give contactIds or addresses.");
        if (ids.Count + addresses.Count > 20) v.Add("addresses", "Test-send goes to at most 20 recipients.");
        var channel = input.Channel ?? campaign.Channels.FirstOrDefault();
        if (channel is null || !campaign.Channels.Contains(channel)) v.Add("channel", "Name one of the campaign's channels.");
        v.ThrowIfInvalid();

        var contacts = await db.Set<Contact>().AsNoTracking().Where(c => ids.Contains(c.Id) && c.WorkspaceId == caller.WorkspaceId && c.DeletedAt == null).ToListAsync(ct);
        foreach (var missing in ids.Except(contacts.Select(c => c.Id))) v.Add("contactIds", $"Contact {missing} was not found.");
        v.ThrowIfInvalid();
        var targets = contacts.Select(c => (Contact: c, Address: channel switch
        {
            ChannelNames.Email => c.Email,
            ChannelNames.Sms or ChannelNames.WhatsApp => c.Phone,
            _ => null,
        })).ToList();
        foreach (var a in addresses)
            targets.Add((new Contact { WorkspaceId = caller.WorkspaceId, Email = a.Contains('@') ? a.ToLowerInvariant() : null, Phone = a.Contains('@') ? null : a, FirstName = "Test" }, a));

        var ws = await db.Set<Workspace>().AsNoTracking().FirstAsync(w => w.Id == caller.WorkspaceId, ct);
        var compiled = services.GetRequiredService<IMessageRenderer>().Compile(channel!, await RunStarter.EffectiveContentAsync(db, campaign, ct));
        var now = clock.GetUtcNow().UtcDateTime;
        var configId = await router.DefaultConfigIdAsync(db, ws.Id, channel!, now, ct);
        var rows = targets.Select(t => new DeliveryRow
        {
            WorkspaceId = ws.Id, CampaignId = campaign.Id, ContactId = t.Contact.Id, Channel = channel!, Address = t.Address ?? "",
            Status = string.IsNullOrEmpty(t.Address) ? DeliveryStatus.Skipped : DeliveryStatus.Sending, Reason = string.IsNullOrEmpty(t.Address) ? "no_address" : null,
            Test = true, Attempts = 1, NextAttemptAt = now, CreatedAt = now, ChannelConfigId = configId,
        }).ToList();
        db.Set<DeliveryRow>().AddRange(rows);
        audit.Record(caller, "test_send", "campaign", campaign.Id, new { channel, recipients = rows.Count });
        await db.SaveChangesAsync(ct);

        var route = await router.RouteAsync(ws.Id, channel!, configId, ct);
        var messages = rows.Select((r, i) => (Row: r, Contact: targets[i].Contact)).Where(x => x.Row.Status == DeliveryStatus.Sending)
            .Select(x => new OutgoingMessage(x.Row.Id, ws.Id, campaign.Id, null, x.Row.ContactId, channel!, x.Row.Address,
                compiled.Render(new RenderScope(x.Contact, ws.Name, campaign.Id, campaign.Name)), Test: true)).ToList();
        var results = messages.Count == 0 ? [] : await route.Provider.SendBatchAsync(messages, ct);
        var byId = results.ToDictionary(r => r.DeliveryId);
        now = clock.GetUtcNow().UtcDateTime;
        foreach (var r in rows.Where(r => r.Status == DeliveryStatus.Sending))
        {
            var res = byId.GetValueOrDefault(r.Id);
            r.Status = res?.Succeeded == true ? DeliveryStatus.Sent : DeliveryStatus.Failed;
            r.ProviderMessageId = res?.ProviderMessageId;
            r.ErrorCode = res?.ErrorCode ?? (res is null ? "no_result" : null);
            r.ErrorText = res?.ErrorText;
            r.SentAt = r.Status == DeliveryStatus.Sent ? now : null;
            r.FinishedAt = now;
        }
        await db.SaveChangesAsync(ct);
        return rows.Select((r, i) => new TestSendResult(r.Address, targets[i].Contact.Id == 0 ? null : targets[i].Contact.Id.ToString(), r.Status, r.ErrorCode ?? r.Reason, r.ErrorText)).ToList();
    }
}
