using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Herald.Campaigns;
using Herald.Hosting;
using Herald.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Herald.Bench;

/// <summary>
/// Scheduler start lateness: boots Herald in-process (web + scheduler roles) on SQLite or PostgreSQL with a
/// recording run starter, creates N one-time campaigns through the REST API due at instants spread over a
/// window (plus one secondly recurring campaign), and reports scheduled-to-started lateness p50/p99/max.
/// <code>dotnet run -c Release --project bench/Herald.Bench -- scheduler [--provider sqlite|postgres]
///   [--pg "Host=...;Username=...;Password=...;Database=postgres"] [--runs 500] [--spread 30] [--lead 60]</code>
/// </summary>
public sealed class SchedulerBench : IBenchCommand
{
    public string Name => "scheduler";
    public string Description => "start lateness of 500 one-time runs over 30 s + a secondly campaign (p50/p99/max)";

    private sealed class RecordingStarter : IRunStarter
    {
        public readonly ConcurrentDictionary<long, DateTime> Started = new();
        public Task StartAsync(long runId, CancellationToken ct)
        {
            Started.TryAdd(runId, DateTime.UtcNow);
            return Task.CompletedTask;
        }
    }

    public async Task<int> RunAsync(BenchArgs args)
    {
        var provider = args.Get("provider", "sqlite");
        var runs = args.Get("runs", 500);
        var spread = TimeSpan.FromSeconds(args.Get("spread", 30));
        var lead = TimeSpan.FromSeconds(args.Get("lead", 60));
        var dir = Path.Combine(Path.GetTempPath(), "herald-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        string cs;
        string? dropDb = null;
        var pgAdmin = args.Get("pg", Environment.GetEnvironmentVariable("HERALD_BENCH_PG") ?? "");
        if (provider == "postgres")
        {
            dropDb = "herald_bench_" + Guid.NewGuid().ToString("N")[..10];
            await using (var c = new NpgsqlConnection(pgAdmin))
            {
                await c.OpenAsync();
                await new NpgsqlCommand($"CREATE DATABASE {dropDb}", c).ExecuteNonQueryAsync();
            }
            cs = new NpgsqlConnectionStringBuilder(pgAdmin) { Database = dropDb, MaxPoolSize = 50 }.ToString();
        }
        else cs = $"Data Source={Path.Combine(dir, "herald.db")}";

        const string key = "hk_bench_scheduler_key_0123456789abcdef";
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = dir });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Herald:Database:Provider"] = provider,
            ["Herald:Database:ConnectionString"] = cs,
            ["Herald:DataDirectory"] = dir,
            ["Herald:Roles"] = "web,scheduler",
            ["Herald:Bootstrap:ApiKey"] = key,
            ["Urls"] = "http://127.0.0.1:0",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Error",
        });
        builder.AddHerald();
        var starter = new RecordingStarter();
        builder.Services.AddSingleton<IRunStarter>(starter);
        await using var app = builder.Build();
        await app.PrepareHeraldAsync();
        app.MapHerald();
        await app.StartAsync();
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        Console.WriteLine($"Herald on {provider} at {url}; creating {runs} one-time campaigns due over {spread.TotalSeconds:0} s starting in {lead.TotalSeconds:0} s");

        var t0 = DateTime.UtcNow + lead;
        var setup = Stopwatch.StartNew();
        var ids = new ConcurrentBag<long>();
        await Parallel.ForEachAsync(Enumerable.Range(0, runs), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) =>
        {
            var at = t0 + spread * i / runs;
            ids.Add(await CreateAndSubmitAsync(http, $"bench-{i}", new { type = "once", at = at.ToString("yyyy-MM-ddTHH:mm:ss.fffZ"), timezone = "UTC" }, ct));
        });
        var recurring = await CreateAndSubmitAsync(http, "bench-secondly", new
        {
            type = "recurring", frequency = "secondly", interval = 1, startAt = t0.ToString("yyyy-MM-ddTHH:mm:ss") + "Z", timezone = "UTC",
            endAt = (t0 + spread).ToString("yyyy-MM-ddTHH:mm:ss") + "Z",
        }, default);
        Console.WriteLine($"created in {setup.Elapsed.TotalSeconds:0.0} s ({(DateTime.UtcNow < t0 ? "before" : "AFTER")} the first due time)");

        var deadline = t0 + spread + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline && starter.Started.Count < runs + (int)spread.TotalSeconds) await Task.Delay(200);

        List<(long Campaign, DateTime Due, long Run)> scheduled;
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
            var rows = await db.Set<CampaignRun>().AsNoTracking().Select(r => new { r.CampaignId, r.ScheduledFor, r.Id, r.StartedAt }).ToListAsync();
            scheduled = rows.Select(r => (r.CampaignId, r.ScheduledFor, r.Id)).ToList();
            // started_at is the scheduler pass that claimed the run: splits lateness into waking up and starting.
            var wake = rows.Where(r => r.StartedAt is not null).Select(r => (r.StartedAt!.Value - r.ScheduledFor).TotalMilliseconds).ToList();
            Report("wake-up", wake, 0);
        }
        await app.StopAsync();

        var once = Lateness(scheduled.Where(r => r.Campaign != recurring), starter);
        var secondly = Lateness(scheduled.Where(r => r.Campaign == recurring), starter);
        Report("one-time", once.Lateness, once.Missing);
        Report("secondly", secondly.Lateness, secondly.Missing);
        Report("all", once.Lateness.Concat(secondly.Lateness).ToList(), once.Missing + secondly.Missing);

        if (dropDb is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var c = new NpgsqlConnection(pgAdmin);
            await c.OpenAsync();
            await new NpgsqlCommand($"DROP DATABASE IF EXISTS {dropDb} WITH (FORCE)", c).ExecuteNonQueryAsync();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(dir, true); } catch (IOException) { }
        return once.Missing == 0 ? 0 : 1;
    }

    private static (List<double> Lateness, int Missing) Lateness(IEnumerable<(long Campaign, DateTime Due, long Run)> runs, RecordingStarter starter)
    {
        var list = new List<double>();
        var missing = 0;
        foreach (var r in runs)
        {
            if (starter.Started.TryGetValue(r.Run, out var at)) list.Add((at - DateTime.SpecifyKind(r.Due, DateTimeKind.Utc)).TotalMilliseconds);
            else if (r.Due < DateTime.UtcNow) missing++;
        }
        return (list, missing);
    }

    private static void Report(string what, List<double> ms, int missing)
    {
        if (ms.Count == 0)
        {
            Console.WriteLine($"{what,-9} no runs started (missing {missing})");
            return;
        }
        ms.Sort();
        double P(double q) => ms[Math.Min(ms.Count - 1, (int)Math.Ceiling(q * ms.Count) - 1)];
        Console.WriteLine($"{what,-9} runs={ms.Count,4} missing={missing} lateness ms: p50={P(0.50):0.0} p99={P(0.99):0.0} max={ms[^1]:0.0} min={ms[0]:0.0}");
    }

    private static async Task<long> CreateAndSubmitAsync(HttpClient http, string name, object schedule, CancellationToken ct)
    {
        var r = await http.PostAsJsonAsync("/api/v1/campaigns", new
        {
            name, channel = "sms", content = new { sms = new { body = "Hi {{ contact.firstName }}" } }, audience = new { all = true }, schedule,
        }, ct);
        var text = await r.Content.ReadAsStringAsync(ct);
        if (!r.IsSuccessStatusCode) throw new InvalidOperationException($"create failed: {(int)r.StatusCode} {text}");
        var id = JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
        var s = await http.PostAsync($"/api/v1/campaigns/{id}/submit", null, ct);
        if (!s.IsSuccessStatusCode) throw new InvalidOperationException($"submit failed: {(int)s.StatusCode} {await s.Content.ReadAsStringAsync(ct)}");
        return long.Parse(id);
    }
}
