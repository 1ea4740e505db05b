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
            case "channels":
                var ch = await ws.Client().PostJsonAsync("/api/v1/channels", new
                {
                    channel = "webhook", provider = "webhook", name = Marker(ws),
                    settings = new { url = "http://127.0.0.1:9/hook", secret = $"{Marker(ws)}-secret-0123456789" },
                });
                return (await ch.ExpectAsync(System.Net.HttpStatusCode.Created)).GetProperty("id").GetString()!;
            case "users":
                return ws.UserIds[Role.Viewer].ToString();
            case "api-keys":
                return await ws.App.WithDbAsync(async db => (await db.ApiKeys.FirstAsync(k => k.WorkspaceId == ws.Id && k.Role == Role.Viewer)).Id.ToString());
            case "templates":
                var t = await ws.Client().PostJsonAsync("/api/v1/templates", new { name = Marker(ws), channel = "sms", sms = new { body = "Hi " + Marker(ws) } });
                return (await t.ExpectAsync(System.Net.HttpStatusCode.Created)).GetProperty("id").GetString()!;
            case "campaigns":
                var cp = await ws.Client().PostJsonAsync("/api/v1/campaigns", new
                {
                    name = Marker(ws), channel = "sms", content = new { sms = new { body = "Hi " + Marker(ws) } }, audience = new { all = true },
                    schedule = new { type = "now" },
                });
                return (await cp.ExpectAsync(System.Net.HttpStatusCode.Created)).GetProperty("id").GetString()!;
            case "segments":
                var s = await ws.Client().PostJsonAsync("/api/v1/segments", new { name = Marker(ws), filter = new { city = Marker(ws) } });
                return (await s.ExpectAsync(System.Net.HttpStatusCode.Created)).GetProperty("id").GetString()!;
            case "lists":
                var l = await ws.Client().PostJsonAsync("/api/v1/lists", new { name = Marker(ws) });
                var listId = (await l.ExpectAsync(System.Net.HttpStatusCode.Created)).GetProperty("id").GetString()!;
                var member = await CreateAsync(ws, "contacts");
                await (await ws.Client().PostJsonAsync($"/api/v1/lists/{listId}/members", new { contactIds = new[] { long.Parse(member) } })).ExpectAsync(System.Net.HttpStatusCode.OK);
                return listId;
            case "imports":
                using (var form = new MultipartFormDataContent())
                {
                    form.Add(new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes($"email,name\n{Marker(ws)}-import@example.com,{Marker(ws)}\nbad-address,x\n")), "file", "seed.csv");
                    var r = await ws.Client().PostAsync("/api/v1/imports", form);
                    return (await r.ExpectAsync(System.Net.HttpStatusCode.Accepted)).GetProperty("id").GetString()!;
                }
            case "journeys":
                var j = await ws.Client().PostJsonAsync("/api/v1/journeys", JourneyBody(Marker(ws)));
                var jid = (await j.ExpectAsync(System.Net.HttpStatusCode.Created)).GetProperty("id").GetString()!;
                (await ws.Client().PostAsync($"/api/v1/journeys/{jid}/activate", null)).EnsureSuccessStatusCode();
                return jid;
            case "media":
                using (var form = new MultipartFormDataContent())
                {
                    form.Add(new ByteArrayContent(SamplePng), "file", $"{Marker(ws)}.png");
                    var r = await ws.Client().PostAsync("/api/v1/media", form);
                    return (await r.ExpectAsync(System.Net.HttpStatusCode.Created)).GetProperty("id").GetString()!;
                }
            case "products":
                var pr = await ws.Client().PostJsonAsync("/api/v1/products", new { sku = Marker(ws), name = Marker(ws), price = 99, currency = "INR" });
                return (await pr.ExpectAsync(System.Net.HttpStatusCode.Created)).GetProperty("id").GetString()!;
            default:
                throw new InvalidOperationException($"No seed for '{resource}': add one in Seeds.cs.");
        }
    }

    /// <summary>The PNG signature and a few bytes: enough for the media library's type check.</summary>
    public static readonly byte[] SamplePng = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0];

    /// <summary>A valid journey definition (welcome email on contact creation).</summary>
    public static object JourneyBody(string name) => new
    {
        name, trigger = new { type = "contact_created" },
        steps = new object[] { new { type = "send", channel = "email", content = new { email = new { subject = "Hi", text = "Hello" } } } },
    };

    public static Task<string> SnapshotAsync(TestWorkspace ws, string resource, string id) => ws.App.WithDbAsync(async db =>
    {
        var n = long.Parse(id);
        return resource switch
        {
            "contacts" or "" => System.Text.Json.JsonSerializer.Serialize(await db.Contacts.AsNoTracking().Where(x => x.Id == n).Select(x => new { x.Email, x.City, x.DeletedAt, x.TotalOrders }).FirstOrDefaultAsync()),
            "channels" => System.Text.Json.JsonSerializer.Serialize(await db.Set<Herald.Channels.ChannelConfig>().AsNoTracking().Where(x => x.Id == n).Select(x => new { x.Name, x.IsDefault, x.ProtectedSettings, x.UpdatedAt }).FirstOrDefaultAsync()),
            "users" => System.Text.Json.JsonSerializer.Serialize(await db.Memberships.AsNoTracking().Where(x => x.UserId == n && x.WorkspaceId == ws.Id).Select(x => new { x.Role }).FirstOrDefaultAsync()),
            "api-keys" => System.Text.Json.JsonSerializer.Serialize(await db.ApiKeys.AsNoTracking().Where(x => x.Id == n).Select(x => new { x.RevokedAt }).FirstOrDefaultAsync()),
            "templates" => System.Text.Json.JsonSerializer.Serialize(await db.Set<Herald.Templates.Template>().AsNoTracking().Where(x => x.Id == n).Select(x => new { x.Name, x.Content, x.UpdatedAt }).FirstOrDefaultAsync()),
            "segments" => System.Text.Json.JsonSerializer.Serialize(await db.Set<Herald.Audience.Segment>().AsNoTracking().Where(x => x.Id == n).Select(x => new { x.Name, x.Filter }).FirstOrDefaultAsync()),
            "lists" => System.Text.Json.JsonSerializer.Serialize(new
            {
                List = await db.Set<Herald.Audience.ContactList>().AsNoTracking().Where(x => x.Id == n).Select(x => new { x.Name }).FirstOrDefaultAsync(),
                Members = await db.Set<Herald.Audience.ContactListMember>().Where(m => m.ListId == n).OrderBy(m => m.ContactId).Select(m => m.ContactId).ToListAsync(),
            }),
            "imports" => System.Text.Json.JsonSerializer.Serialize(await db.Set<Herald.Audience.ImportJob>().AsNoTracking().Where(x => x.Id == n).Select(x => new { x.WorkspaceId, x.FileName }).FirstOrDefaultAsync()),
            "campaigns" => System.Text.Json.JsonSerializer.Serialize(new
            {
                Campaign = await db.Set<Herald.Campaigns.Campaign>().AsNoTracking().Where(x => x.Id == n).Select(x => new { x.Name, x.Status, x.Schedule, x.UpdatedAt, x.Version }).FirstOrDefaultAsync(),
                Runs = await db.Set<Herald.Campaigns.CampaignRun>().AsNoTracking().Where(x => x.CampaignId == n).Select(x => new { x.Status, x.Pending, x.Failed }).ToListAsync(),
                Tests = await db.Set<Herald.Delivery.DeliveryRow>().AsNoTracking().CountAsync(x => x.CampaignId == n),
            }),
            "journeys" => System.Text.Json.JsonSerializer.Serialize(new
            {
                Journey = await db.Set<Herald.Journeys.Journey>().AsNoTracking().Where(x => x.Id == n).Select(x => new { x.Name, x.Status, x.Version, x.Steps }).FirstOrDefaultAsync(),
                Enrollments = await db.Set<Herald.Journeys.Enrollment>().CountAsync(x => x.JourneyId == n),
            }),
            "media" => System.Text.Json.JsonSerializer.Serialize(await db.Set<Herald.Assets.MediaItem>().AsNoTracking().Where(x => x.Id == n).Select(x => new { x.Key, x.FileName, x.SizeBytes }).FirstOrDefaultAsync()),
            "products" => System.Text.Json.JsonSerializer.Serialize(await db.Set<Herald.Assets.Product>().AsNoTracking().Where(x => x.Id == n).Select(x => new { x.Sku, x.Name, x.Price, x.UpdatedAt }).FirstOrDefaultAsync()),
            _ => throw new InvalidOperationException($"No snapshot for '{resource}': add one in Seeds.cs."),
        };
    });
}
