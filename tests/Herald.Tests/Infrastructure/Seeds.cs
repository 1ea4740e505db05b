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
            case "journeys":
                var j = await ws.Client().PostJsonAsync("/api/v1/journeys", JourneyBody(Marker(ws)));
                var jid = (await j.ExpectAsync(System.Net.HttpStatusCode.Created)).GetProperty("id").GetString()!;
                (await ws.Client().PostAsync($"/api/v1/journeys/{jid}/activate", null)).EnsureSuccessStatusCode();
                return jid;
            default:
                throw new InvalidOperationException($"No seed for '{resource}': add one in Seeds.cs.");
        }
    }

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
            "users" => System.Text.Json.JsonSerializer.Serialize(await db.Memberships.AsNoTracking().Where(x => x.UserId == n && x.WorkspaceId == ws.Id).Select(x => new { x.Role }).FirstOrDefaultAsync()),
            "api-keys" => System.Text.Json.JsonSerializer.Serialize(await db.ApiKeys.AsNoTracking().Where(x => x.Id == n).Select(x => new { x.RevokedAt }).FirstOrDefaultAsync()),
            "journeys" => System.Text.Json.JsonSerializer.Serialize(new
            {
                Journey = await db.Set<Herald.Journeys.Journey>().AsNoTracking().Where(x => x.Id == n).Select(x => new { x.Name, x.Status, x.Version, x.Steps }).FirstOrDefaultAsync(),
                Enrollments = await db.Set<Herald.Journeys.Enrollment>().CountAsync(x => x.JourneyId == n),
            }),
            _ => throw new InvalidOperationException($"No snapshot for '{resource}': add one in Seeds.cs."),
        };
    });
}
