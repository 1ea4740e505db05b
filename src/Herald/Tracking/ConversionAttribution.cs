using Herald.Contacts;
using Herald.Delivery;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Herald.Tracking;

/// <summary>
/// Credits <c>order</c> events (contacts API, events API) to the last delivery the contact opened or clicked (people
/// only, not machines; test sends outside runs never) within <see cref="TrackingOptions.AttributionWindow"/> before the order. Listens on the
/// contacts feature's observer hook, after the events are saved.
/// </summary>
public sealed class ConversionAttribution(HeraldDb db, TrackingRecorder recorder, IOptions<TrackingOptions> options) : IContactObserver
{
    public Task ContactsCreatedAsync(long workspaceId, IReadOnlyList<long> contactIds, CancellationToken ct) => Task.CompletedTask;

    public Task ContactsUpdatedAsync(long workspaceId, IReadOnlyList<ContactChange> changes, CancellationToken ct) => Task.CompletedTask;

    public async Task EventsRecordedAsync(long workspaceId, IReadOnlyList<ContactEvent> events, CancellationToken ct)
    {
        var orders = events.Where(e => e.Type == EventTypes.Order).ToList();
        if (orders.Count == 0) return;
        var window = options.Value.AttributionWindow;
        foreach (var chunk in orders.Chunk(500))
        {
            var contacts = chunk.Select(e => e.ContactId).Distinct().ToList();
            var since = chunk.Min(e => e.OccurredAt) - window;
            var until = chunk.Max(e => e.OccurredAt);
            // AttributionTouches: the (contact_id, at) index serves it; a handful of rows per contact.
            var touches = await db.Set<DeliveryEvent>().AsNoTracking()
                .Where(t => contacts.Contains(t.ContactId) && t.WorkspaceId == workspaceId && t.RunId != null && !t.Machine && t.At >= since && t.At <= until
                    && (t.Type == DeliveryEventTypes.Opened || t.Type == DeliveryEventTypes.Clicked))
                .Select(t => new { t.ContactId, t.DeliveryId, t.At })
                .ToListAsync(ct);
            foreach (var order in chunk)
            {
                var last = touches.Where(t => t.ContactId == order.ContactId && t.At <= order.OccurredAt && t.At >= order.OccurredAt - window)
                    .OrderByDescending(t => t.At).ThenByDescending(t => t.DeliveryId).FirstOrDefault();
                if (last is not null)
                    await recorder.ConvertAsync(last.DeliveryId, order.Value, order.Currency, order.OccurredAt, $"order:{order.Id}", ct);
            }
        }
    }
}
