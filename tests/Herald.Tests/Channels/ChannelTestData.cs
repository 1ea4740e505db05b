using Herald.Campaigns;
using Herald.Contacts;
using Herald.Delivery;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Herald.Tests.Channels;

/// <summary>Rows the delivery engine would have written, inserted directly so receipts have something to move.</summary>
public static class ChannelTestData
{
    public sealed record Seeded(long ContactId, long CampaignId, long RunId, long DeliveryId);

    /// <summary>A contact, a running campaign with one run, and one delivery in <paramref name="status"/> carrying <paramref name="providerMessageId"/>.</summary>
    public static Task<Seeded> SeedDeliveryAsync(TestWorkspace ws, string channel, string address, string providerMessageId, string status = DeliveryStatus.Sent) =>
        ws.App.WithDbAsync(async db =>
        {
            var now = DateTime.UtcNow;
            var contact = new Contact { WorkspaceId = ws.Id, Email = channel == "email" ? address : null, Phone = address.StartsWith('+') ? address : null, CreatedAt = now, UpdatedAt = now };
            db.Add(contact);
            var campaign = new Campaign { WorkspaceId = ws.Id, Name = "Receipts", Status = CampaignStatus.Running, Channels = [channel], CreatedBy = "test", CreatedAt = now, UpdatedAt = now };
            db.Add(campaign);
            await db.SaveChangesAsync();
            var run = new CampaignRun
            {
                WorkspaceId = ws.Id, CampaignId = campaign.Id, ScheduledFor = now, StartedAt = now, Status = RunStatus.Running, Total = 1,
                Sent = status == DeliveryStatus.Sent ? 1 : 0, Unknown = status == DeliveryStatus.Unknown ? 1 : 0,
            };
            db.Add(run);
            await db.SaveChangesAsync();
            var delivery = new DeliveryRow
            {
                WorkspaceId = ws.Id, RunId = run.Id, CampaignId = campaign.Id, ContactId = contact.Id, Channel = channel, Address = address,
                Status = status, ProviderMessageId = providerMessageId, Attempts = 1, CreatedAt = now, NextAttemptAt = now, SentAt = now,
            };
            db.Add(delivery);
            await db.SaveChangesAsync();
            return new Seeded(contact.Id, campaign.Id, run.Id, delivery.Id);
        });

    public static Task<DeliveryRow> DeliveryAsync(HeraldApp app, long id) =>
        app.WithDbAsync(db => db.Set<DeliveryRow>().AsNoTracking().FirstAsync(d => d.Id == id));

    public static Task<CampaignRun> RunAsync(HeraldApp app, long id) =>
        app.WithDbAsync(db => db.Set<CampaignRun>().AsNoTracking().FirstAsync(r => r.Id == id));
}
