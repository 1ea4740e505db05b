using System.Diagnostics;
using System.Net.Http.Headers;
using Herald.Auth;
using Herald.Campaigns;
using Herald.Channels;
using Herald.Hosting;
using Herald.Storage;
using Herald.Workspaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Herald.Bench;

/// <summary>
/// Stats reads during a large send: the delivery bench's setup (N contacts, one tracked email campaign to all,
/// sandbox provider) on a host that also serves the API over Kestrel, and reader loops calling
/// <c>GET /api/v1/campaigns/{id}/stats</c> with an API key for as long as the run is sending. Reports the read
/// latency p50/p95/p99/max and the send rate alongside. While the run sends, reads are served from the per-node
/// snapshot (<c>CampaignStatsSnapshots</c>, at most 1 s old); the reads after the send are fresh reads of the finished run.
/// <code>
/// dotnet run -c Release --project bench/Herald.Bench -- stats --provider postgres --pg "Host=...;Database=herald_bench" --contacts 200000
/// </code>
/// Options: --contacts N (default 200,000), --readers N (concurrent reader loops, default 2), --workers N, --batch N.
/// </summary>
public sealed class StatsBench : IBenchCommand
{
    public string Name => "stats";
    public string Description => "GET /campaigns/{id}/stats p50/p99 over HTTP while a large tracked run is sending";

    public async Task<int> RunAsync(BenchArgs args)
    {
        var provider = args.Get("provider", "sqlite");
        var contacts = args.Get("contacts", 200_000);
        var readers = args.Get("readers", 2);
        var dir = Path.Combine(Path.GetTempPath(), "herald-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var settings = new Dictionary<string, string?>
        {
            ["Herald:Roles"] = "web,worker",
            ["Herald:DataDirectory"] = dir,
            ["Herald:Database:Provider"] = provider,
            ["Herald:Delivery:Workers"] = args.Get("workers", provider == "postgres" ? "4" : "2"),
            ["Herald:Delivery:BatchSize"] = args.Get("batch", "500"),
            ["Herald:Delivery:IdleMaxSeconds"] = "0.2",
            ["Urls"] = "http://127.0.0.1:0",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        if (provider == "postgres") settings["Herald:Database:ConnectionString"] = args.Get("pg", "Host=127.0.0.1;Port=55530;Username=herald;Password=herald;Database=herald_bench");

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = dir });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddHerald();
        var app = builder.Build();
        await app.PrepareHeraldAsync();
        app.MapHerald();

        long runId, wsId, campaignId;
        var key = ApiKeys.NewKey();
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
            db.Database.SetCommandTimeout(TimeSpan.FromMinutes(10));
            var now = DateTime.UtcNow;
            var ws = new Workspace { Name = "stats bench", CreatedAt = now };
            db.Set<Workspace>().Add(ws);
            await db.SaveChangesAsync();
            wsId = ws.Id;
            db.Set<ApiKey>().Add(ApiKeys.Create(ws.Id, "bench", Role.Viewer, null, now, key, out _));
            var sw = Stopwatch.StartNew();
            await DeliveryBench.InsertContactsAsync(db, ws.Id, contacts, now);
            Console.WriteLine($"contacts: {contacts:N0} inserted in {sw.Elapsed.TotalSeconds:F1} s");
            // Tracked like a real campaign: two links and the pixel per message, an unsubscribe URL.
            var campaign = new Campaign
            {
                WorkspaceId = ws.Id, Name = "Stats bench", Status = CampaignStatus.Running, Channels = [ChannelNames.Email], CreatedBy = "bench",
                CreatedAt = now, UpdatedAt = now, Audience = """{"all":true}""",
                Content = """{"email":{"subject":"Hi {{ contact.firstName }}","html":"<p>Deals for <b>{{ contact.firstName }}</b>: <a href=\"https://shop.example/sale\">sale</a>, <a href=\"https://shop.example/new\">new</a>. <a href=\"{{ unsubscribeUrl }}\">Unsubscribe</a></p>"}}""",
            };
            db.Set<Campaign>().Add(campaign);
            await db.SaveChangesAsync();
            campaignId = campaign.Id;
            var run = new CampaignRun { WorkspaceId = ws.Id, CampaignId = campaign.Id, ScheduledFor = now, Status = RunStatus.Scheduled };
            db.Set<CampaignRun>().Add(run);
            await db.SaveChangesAsync();
            runId = run.Id;
            if (db.IsPostgres) await db.Database.ExecuteSqlRawAsync("ANALYZE contact");
        }

        await app.StartAsync();
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var statsPath = $"/api/v1/campaigns/{campaignId}/stats";
        (await http.GetAsync(statsPath)).EnsureSuccessStatusCode(); // warm: JIT, key lookup, plans

        var total = Stopwatch.StartNew();
        await using (var scope = app.Services.CreateAsyncScope())
            await scope.ServiceProvider.GetRequiredService<IRunStarter>().StartAsync(runId, default);
        Console.WriteLine($"materialization: {total.Elapsed.TotalSeconds:F2} s");
        var sendStart = total.Elapsed;

        using var stop = new CancellationTokenSource();
        // Each reader alternates the stats call with /health/live, the cheapest endpoint: on a loaded machine the
        // control shows how much of a read's time is the machine (scheduling, HTTP) rather than the stats work.
        var samples = new List<double>[readers];
        var control = new List<double>[readers];
        var loops = Enumerable.Range(0, readers).Select(i => Task.Run(async () =>
        {
            var mine = samples[i] = [];
            var floor = control[i] = [];
            while (!stop.IsCancellationRequested)
            {
                mine.Add(await TimeAsync(http, statsPath));
                floor.Add(await TimeAsync(http, "/health/live"));
            }
        })).ToList();

        CampaignRun final;
        var lastPrint = 0.0;
        while (true)
        {
            await using var scope = app.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
            final = await db.Set<CampaignRun>().AsNoTracking().FirstAsync(x => x.Id == runId);
            if (final.FinishedAt is not null || final.Status != RunStatus.Running) break;
            if (total.Elapsed.TotalSeconds - lastPrint >= 5)
            {
                lastPrint = total.Elapsed.TotalSeconds;
                Console.WriteLine($"  {lastPrint,5:F0} s: sent {final.Sent:N0}, pending {final.Pending:N0}, stats reads {samples.Sum(s => s?.Count ?? 0):N0}");
            }
            await Task.Delay(200);
        }
        await stop.CancelAsync();
        await Task.WhenAll(loops);
        var sendSeconds = (total.Elapsed - sendStart).TotalSeconds;
        Console.WriteLine($"run {final.Status}: total {final.Total:N0}, sent {final.Sent:N0} in {sendSeconds:F1} s = {final.Sent / sendSeconds:N0} msg/s");
        Console.WriteLine("stats reads during the send:   " + Percentiles(samples));
        Console.WriteLine("/health/live (control), same:  " + Percentiles(control));
        // Past the snapshot's maximum age (Herald:Tracking:StatsSnapshotMaxAge, 1 s) the finished run is read fresh on
        // every request: what follows measures that path, not the last snapshot of the send.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var idle = new List<double>();
        for (var i = 0; i < 200; i++) idle.Add(await TimeAsync(http, statsPath));
        Console.WriteLine("stats reads after the send:    " + Percentiles([idle]));
        var body = await http.GetStringAsync(statsPath);
        Console.WriteLine($"final stats: {body[..Math.Min(400, body.Length)]}...");

        await app.StopAsync();
        if (provider == "postgres" && !args.Has("keep"))
        {
            await using var scope = app.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
            db.Database.SetCommandTimeout(TimeSpan.FromMinutes(10));
            await db.Database.ExecuteSqlRawAsync("DELETE FROM workspace WHERE id = {0}; DELETE FROM delivery WHERE workspace_id = {0}; DELETE FROM outbox_message WHERE workspace_id = {0};", wsId);
        }
        try { Directory.Delete(dir, true); } catch (IOException) { }
        return final.Status == RunStatus.Completed ? 0 : 1;
    }

    private static async Task<double> TimeAsync(HttpClient http, string path)
    {
        var t = Stopwatch.GetTimestamp();
        using var r = await http.GetAsync(path);
        await r.Content.ReadAsByteArrayAsync();
        r.EnsureSuccessStatusCode();
        return Stopwatch.GetElapsedTime(t).TotalMilliseconds;
    }

    private static string Percentiles(IEnumerable<List<double>> samples)
    {
        var all = samples.SelectMany(s => s).OrderBy(x => x).ToList();
        double P(double q) => all.Count == 0 ? double.NaN : all[Math.Min(all.Count - 1, (int)Math.Ceiling(q * all.Count) - 1)];
        return $"{all.Count:N0} reads; p50 {P(0.50):F1} ms, p95 {P(0.95):F1} ms, p99 {P(0.99):F1} ms, max {all.LastOrDefault():F1} ms";
    }
}
