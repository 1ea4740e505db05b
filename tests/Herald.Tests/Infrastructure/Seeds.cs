using Herald.Auth;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;

namespace Herald.Tests.Infrastructure;

/// <summary>
/// Creates one resource of a kind in a workspace (for the authorization matrix) and reads a
/// snapshot of it to prove a foreign call changed nothing. New resource kinds add a case here.
/// </summary>
public static class Seeds
{
    /// <summary>A string that appears in workspace <paramref name="ws"/>'s seeded data and nowhere else.</summary>
    public static string Marker(TestWorkspace ws) => $"marker-ws{ws.Id}";

    public static async Task<string> CreateAsync(TestWorkspace ws, string resource)
    {
        switch (resource)
        {
            case "contacts":
            case "":
                var c = await ws.Client().PostJsonAsync("/api/v1/contacts", new { email = $"{Marker(ws)}@example.com", firstName = Marker(ws) });
                return (await c.ExpectAsync(System.Net.HttpStatusCode.Created)).GetProperty("id").GetString()!;
            case "users":
                return ws.UserIds[Role.Viewer].ToString();
            case "api-keys":
                return await ws.App.WithDbAsync(async db => (await db.ApiKeys.FirstAsync(k => k.WorkspaceId == ws.Id && k.Role == Role.Viewer)).Id.ToString());
            case "campaigns":
                // Seeded as a row: the delivery endpoints only read campaigns (the campaigns feature owns creation).
                return await ws.App.WithDbAsync(async db =>
                {
                    var now = DateTime.UtcNow;
                    var campaign = new Herald.Campaigns.Campaign
                    {
                        WorkspaceId = ws.Id, Name = Marker(ws), Status = Herald.Campaigns.CampaignStatus.Completed, Channels = ["email"],
                        Content = "{\"email\":{\"subject\":\"" + Marker(ws) + "\",\"text\":\"hi\"}}", CreatedBy = "seed", CreatedAt = now, UpdatedAt = now,
                    };
                    db.Set<Herald.Campaigns.Campaign>().Add(campaign);
                    await db.SaveChangesAsync();
                    db.Set<Herald.Campaigns.CampaignRun>().Add(new Herald.Campaigns.CampaignRun
                    {
                        WorkspaceId = ws.Id, CampaignId = campaign.Id, ScheduledFor = now, Status = Herald.Campaigns.RunStatus.Completed, Total = 1, Failed = 1,
                    });
                    await db.SaveChangesAsync();
                    return campaign.Id.ToString();
                });
            default:
                throw new InvalidOperationException($"No seed for '{resource}': add one in Seeds.cs.");
        }
    }

    public static Task<string> SnapshotAsync(TestWorkspace ws, string resource, string id) => ws.App.WithDbAsync(async db =>
    {
        var n = long.Parse(id);
        return resource switch
        {
            "contacts" or "" => System.Text.Json.JsonSerializer.Serialize(await db.Contacts.AsNoTracking().Where(x => x.Id == n).Select(x => new { x.Email, x.City, x.DeletedAt, x.TotalOrders }).FirstOrDefaultAsync()),
            "users" => System.Text.Json.JsonSerializer.Serialize(await db.Memberships.AsNoTracking().Where(x => x.UserId == n && x.WorkspaceId == ws.Id).Select(x => new { x.Role }).FirstOrDefaultAsync()),
            "api-keys" => System.Text.Json.JsonSerializer.Serialize(await db.ApiKeys.AsNoTracking().Where(x => x.Id == n).Select(x => new { x.RevokedAt }).FirstOrDefaultAsync()),
            "campaigns" => System.Text.Json.JsonSerializer.Serialize(new
            {
                Campaign = await db.Set<Herald.Campaigns.Campaign>().AsNoTracking().Where(x => x.Id == n).Select(x => new { x.Status, x.Name }).FirstOrDefaultAsync(),
                Runs = await db.Set<Herald.Campaigns.CampaignRun>().AsNoTracking().Where(x => x.CampaignId == n).Select(x => new { x.Status, x.Pending, x.Failed }).ToListAsync(),
                Tests = await db.Set<Herald.Delivery.DeliveryRow>().AsNoTracking().CountAsync(x => x.CampaignId == n),
            }),
            _ => throw new InvalidOperationException($"No snapshot for '{resource}': add one in Seeds.cs."),
        };
    });
}
