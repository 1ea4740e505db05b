using System.Net;
using System.Text.Json;
using Herald.Auth;
using Herald.Campaigns;
using Herald.Delivery;
using Herald.Journeys;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Journeys;

/// <summary>Helpers shared by the journey tests: a fresh app on a fake clock, journeys and contacts through the API.</summary>
internal static class JourneyTestKit
{
    public static async Task RunAsync(DateTimeOffset start, Func<HeraldApp, TestWorkspace, Task> body, string workspaceZone = "UTC",
        Action<IServiceCollection>? configure = null)
    {
        var app = new HeraldApp { UseFakeTime = start, ConfigureTestServices = configure };
        await app.InitializeAsync();
        try
        {
            var ws = await app.CreateWorkspaceAsync("journeys", s => s.Timezone = workspaceZone);
            await body(app, ws);
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    public static object Email(string id, string subject, string? next = null) =>
        new { id, type = "send", channel = "email", content = new { email = new { subject, html = $"<p>{subject}</p>" } }, next };

    public static async Task<string> CreateJourneyAsync(TestWorkspace ws, object body, bool activate = true)
    {
        var created = await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/journeys", body)).ExpectAsync(HttpStatusCode.Created);
        var id = created.GetProperty("id").GetString()!;
        if (activate) await (await ws.Client(Role.Editor).PostAsync($"/api/v1/journeys/{id}/activate", null)).ExpectAsync(HttpStatusCode.OK);
        return id;
    }

    public static async Task<long> CreateContactAsync(TestWorkspace ws, string email, string? timezone = null)
    {
        var c = await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/contacts", new { email, timezone })).ExpectAsync(HttpStatusCode.Created);
        return long.Parse(c.GetProperty("id").GetString()!);
    }

    public static async Task<JourneyRunResult> RunEngineAsync(HeraldApp app)
    {
        var engine = app.Services.GetRequiredService<JourneyEngine>();
        JourneyRunResult r;
        var total = 0;
        var passes = 0;
        do { r = await engine.RunOnceAsync(default); total += r.StepsExecuted; }
        while (r.Claimed > 0 && r.NextDueAt <= app.Clock!.GetUtcNow().UtcDateTime && ++passes < 50);
        return r with { StepsExecuted = total };
    }

    /// <summary>Deliveries of a journey with the step id taken from their hidden campaign's name.</summary>
    public static Task<List<(string Step, DeliveryRow Row)>> DeliveriesAsync(HeraldApp app, string journeyId) => app.WithDbAsync(async db =>
    {
        var jid = long.Parse(journeyId);
        var campaigns = await db.Set<Campaign>().AsNoTracking().Where(c => c.JourneyId == jid).ToDictionaryAsync(c => c.Id, c => c.Name);
        var ids = campaigns.Keys.ToList();
        var rows = await db.Set<DeliveryRow>().AsNoTracking().Where(d => d.CampaignId != null && ids.Contains(d.CampaignId.Value)).OrderBy(d => d.Id).ToListAsync();
        return rows.Select(r => (campaigns[r.CampaignId!.Value].Split(':')[^1], r)).ToList();
    });

    public static Task<List<Enrollment>> EnrollmentsAsync(HeraldApp app, string journeyId) =>
        app.WithDbAsync(db => db.Set<Enrollment>().AsNoTracking().Where(e => e.JourneyId == long.Parse(journeyId)).OrderBy(e => e.Id).ToListAsync());

    public static void SetNow(HeraldApp app, DateTime utc) => app.Clock!.SetUtcNow(new DateTimeOffset(utc, TimeSpan.Zero));

    public static DateTime Utc(string iso) => DateTime.Parse(iso, null, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal);

    public static JsonElement Errors(JsonElement problem) => problem.GetProperty("errors");
}
