using Herald.Campaigns;
using Herald.Delivery;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;

namespace Herald.Channels.Receipts;

/// <summary>A provider's word on a message it accepted, normalized across providers.</summary>
public enum ReceiptStatus
{
    Sent,
    Delivered,
    Read,
    Failed,
}

/// <summary>What applying a receipt did.</summary>
public enum ReceiptOutcome
{
    /// <summary>The delivery moved (and its run's counters with it).</summary>
    Applied,
    /// <summary>The delivery is already at or past this status (repeated or late callback).</summary>
    Unchanged,
    /// <summary>No delivery of the workspace carries this provider message id.</summary>
    NotFound,
}

/// <summary>
/// Applies provider receipts (Twilio status callbacks, WhatsApp statuses, ...) to the delivery found
/// by its provider message id. Statuses only move forward (sent &lt; delivered &lt; read; failed is
/// final and never follows delivered), so repeated or out-of-order callbacks are harmless, and the
/// run's counters move in the same transaction as the row.
/// </summary>
public sealed class DeliveryReceipts(HeraldDb db, TimeProvider clock)
{
    public async Task<ReceiptOutcome> ApplyAsync(long workspaceId, string providerMessageId, ReceiptStatus status,
        DateTime? at, string? errorCode, string? errorText, CancellationToken ct)
    {
        var when = at ?? clock.GetUtcNow().UtcDateTime;
        // Retried once: a concurrent receipt for the same message may move the row between our read
        // and our guarded update (the WHERE status = old makes the loser see 0 rows).
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var row = await db.Set<DeliveryRow>().AsNoTracking()
                .Where(d => d.WorkspaceId == workspaceId && d.ProviderMessageId == providerMessageId)
                .Select(d => new { d.Id, d.Status, d.RunId, d.Variant, d.DeliveredAt, d.ReadAt })
                .FirstOrDefaultAsync(ct);
            if (row is null) return ReceiptOutcome.NotFound;

            var move = Decide(row.Status, status);
            if (move is null) return ReceiptOutcome.Unchanged;
            var m = move.Value;

            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var deliveredAt = m.SetsDelivered ? row.DeliveredAt ?? when : row.DeliveredAt;
            var readAt = m.NewStatus == DeliveryStatus.Read ? row.ReadAt ?? when : row.ReadAt;
            var failed = m.NewStatus == DeliveryStatus.Failed;
            var changed = await db.Set<DeliveryRow>()
                .Where(d => d.Id == row.Id && d.Status == row.Status)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(d => d.Status, m.NewStatus)
                    .SetProperty(d => d.DeliveredAt, deliveredAt)
                    .SetProperty(d => d.ReadAt, readAt)
                    .SetProperty(d => d.ErrorCode, d => failed ? errorCode ?? "failed" : d.ErrorCode)
                    .SetProperty(d => d.ErrorText, d => failed ? Truncate(errorText, 1000) : d.ErrorText)
                    .SetProperty(d => d.Reason, d => failed ? "provider_failed" : d.Reason)
                    .SetProperty(d => d.FinishedAt, d => d.FinishedAt ?? when), ct);
            if (changed == 0)
            {
                await tx.RollbackAsync(ct);
                continue;
            }
            if (row.RunId is { } runId && m.HasCounters)
            {
                await db.Set<CampaignRun>().Where(r => r.Id == runId).ExecuteUpdateAsync(s => s
                    .SetProperty(r => r.Sent, r => r.Sent + m.Sent)
                    .SetProperty(r => r.Delivered, r => r.Delivered + m.Delivered)
                    .SetProperty(r => r.Read, r => r.Read + m.Read)
                    .SetProperty(r => r.Failed, r => r.Failed + m.Failed)
                    .SetProperty(r => r.Unknown, r => r.Unknown + m.Unknown), ct);
                // The per-variant figures move with the run (same transaction); the timeline takes what happened at this
                // minute, not the correction of an earlier sent count (a failure after sent).
                await Tracking.RunStats.ApplyAsync(db, [new Tracking.StatDelta(runId, row.Variant, when) { Sent = m.Sent, Delivered = m.Delivered, Failed = m.Failed }],
                    Tracking.StatParts.Variant, ct);
                await Tracking.RunStats.ApplyAsync(db, [new Tracking.StatDelta(runId, row.Variant, when) { Sent = Math.Max(0, m.Sent), Delivered = m.Delivered, Failed = m.Failed }],
                    Tracking.StatParts.Minute, ct);
            }
            await tx.CommitAsync(ct);
            return ReceiptOutcome.Applied;
        }
        return ReceiptOutcome.Unchanged;
    }

    private static string? Truncate(string? s, int max) => s is null || s.Length <= max ? s : s[..max];

    /// <summary>A status change and the counter deltas it implies (delivered counts sent messages; read counts delivered ones).</summary>
    internal readonly record struct Move(string NewStatus, bool SetsDelivered, int Sent, int Delivered, int Read, int Failed, int Unknown)
    {
        public bool HasCounters => Sent != 0 || Delivered != 0 || Read != 0 || Failed != 0 || Unknown != 0;
    }

    /// <summary>
    /// The receipt state machine. Ranks: unknown &lt; sent &lt; delivered &lt; read; failed is
    /// terminal. A receipt for a delivery whose outcome was unknown (node died under at_most_once)
    /// proves it went out, so it moves from the unknown counter to sent.
    /// </summary>
    internal static Move? Decide(string current, ReceiptStatus receipt)
    {
        var rank = Rank(current);
        if (rank < 0) return null; // pending, failed, skipped: nothing a receipt may change
        var wasSent = rank >= 2 ? 0 : 1; // not counted as sent yet
        var wasUnknown = current == DeliveryStatus.Unknown ? 1 : 0;
        return receipt switch
        {
            ReceiptStatus.Sent when rank < 2 => new Move(DeliveryStatus.Sent, false, wasSent, 0, 0, 0, -wasUnknown),
            ReceiptStatus.Delivered when rank < 3 => new Move(DeliveryStatus.Delivered, true, wasSent, 1, 0, 0, -wasUnknown),
            ReceiptStatus.Read when rank < 4 => new Move(DeliveryStatus.Read, true, wasSent, rank < 3 ? 1 : 0, 1, 0, -wasUnknown),
            ReceiptStatus.Failed when rank < 3 => new Move(DeliveryStatus.Failed, false, rank == 2 ? -1 : 0, 0, 0, 1, -wasUnknown),
            _ => null,
        };
    }

    private static int Rank(string status) => status switch
    {
        // Not sending: the worker that holds it records its own result (and the provider id with it).
        DeliveryStatus.Unknown => 1,
        DeliveryStatus.Sent => 2,
        DeliveryStatus.Delivered => 3,
        DeliveryStatus.Read => 4,
        _ => -1,
    };
}
