using System.Diagnostics;
using System.Net;
using Herald.Audience;
using Herald.Campaigns;
using Herald.Channels;
using Herald.Common;
using Herald.Delivery;
using Herald.Hosting;
using Herald.Storage;
using Herald.Templates;
using Herald.Workspaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Herald.Bench;

/// <summary>
/// End-to-end delivery: N contacts (default 1,000,000) bulk-inserted, one campaign to all of them, run started,
/// waited to completion. Reports materialization seconds, end-to-end msg/s and peak RSS.
/// <code>
/// dotnet run -c Release --project bench/Herald.Bench -- delivery --provider sqlite
/// dotnet run -c Release --project bench/Herald.Bench -- delivery --provider postgres --pg "Host=...;Database=herald_bench"
/// dotnet run -c Release --project bench/Herald.Bench -- delivery --provider postgres --pg ... --http   (webhook-like HTTP provider to a local sink)
/// </code>
/// Options: --contacts N, --workers N, --batch N, --concurrency N, --chunk N (contacts materialized per transaction on PostgreSQL), --http [url], --pgstat (this database's pg_stat_statements), --keep.
/// </summary>
public sealed class DeliveryBench : IBenchCommand
{
    public string Name => "delivery";
    public string Description => "1M contacts, one campaign on the sandbox (or --http) provider: materialization s, msg/s, peak RSS";

    public async Task<int> RunAsync(BenchArgs args)
    {
        var provider = args.Get("provider", "sqlite");
        var contacts = args.Get("contacts", 1_000_000);
        var http = args.Has("http");
        var dir = Path.Combine(Path.GetTempPath(), "herald-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var settings = new Dictionary<string, string?>
        {
            ["Herald:Roles"] = "worker",
            ["Herald:DataDirectory"] = dir,
            ["Herald:Database:Provider"] = provider,
            ["Herald:Delivery:Workers"] = args.Get("workers", provider == "postgres" ? "4" : "2"),
            ["Herald:Delivery:BatchSize"] = args.Get("batch", "500"),
            ["Herald:Delivery:SendConcurrency"] = args.Get("concurrency", "8"),
            ["Herald:Delivery:IdleMaxSeconds"] = "0.2",
            ["Herald:Delivery:MaterializeChunk"] = args.Get("chunk", "100000"),
            ["Urls"] = "http://127.0.0.1:0",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Herald.Delivery"] = "Information",
        };
        if (provider == "postgres") settings["Herald:Database:ConnectionString"] = args.Get("pg", "Host=127.0.0.1;Port=55530;Username=herald;Password=herald;Database=herald_bench");

        WebApplication? sink = null;
        var sinkCount = 0L;
        var url = args.Get("http", "true");
        if (http && url == "true")
        {
            var sb = WebApplication.CreateSlimBuilder();
            sb.WebHost.UseUrls("http://127.0.0.1:0");
            sb.Logging.ClearProviders();
            sink = sb.Build();
            sink.MapPost("/in", () => { Interlocked.Increment(ref sinkCount); return Results.Ok(); });
            await sink.StartAsync();
            url = sink.Urls.First() + "/in";
        }

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = dir });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddHerald();
        builder.Services.AddSingleton<IChannelProviderFactory, HttpPostProviderFactory>();
        var app = builder.Build();
        await app.PrepareHeraldAsync();
        app.MapHerald();

        long runId, wsId;
        var channel = http ? ChannelNames.Webhook : ChannelNames.Email;
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
            db.Database.SetCommandTimeout(TimeSpan.FromMinutes(10));
            var now = DateTime.UtcNow;
            var ws = new Workspace { Name = "bench", CreatedAt = now };
            db.Set<Workspace>().Add(ws);
            await db.SaveChangesAsync();
            wsId = ws.Id;
            var sw = Stopwatch.StartNew();
            await InsertContactsAsync(db, ws.Id, contacts, now);
            Console.WriteLine($"contacts: {contacts:N0} inserted in {sw.Elapsed.TotalSeconds:F1} s");
            if (http)
            {
                db.Set<ChannelConfig>().Add(new ChannelConfig { WorkspaceId = ws.Id, Channel = channel, Provider = "httppost", Name = "bench http", IsDefault = true, CreatedAt = now, UpdatedAt = now });
            }
            var campaign = new Campaign
            {
                WorkspaceId = ws.Id, Name = "Bench", Status = CampaignStatus.Running, Channels = [channel], CreatedBy = "bench", CreatedAt = now, UpdatedAt = now,
                Content = http
                    ? $$$"""{"webhook":{"url":"{{{url}}}","body":"{\"hello\":\"{{ contact.firstName }}\"}"}}"""
                    : """{"email":{"subject":"Hi {{ contact.firstName }}","text":"Deals for {{ contact.firstName }} this week.","html":"<p>Deals for <b>{{ contact.firstName }}</b></p>"}}""",
                Audience = """{"all":true}""",
            };
            db.Set<Campaign>().Add(campaign);
            await db.SaveChangesAsync();
            var run = new CampaignRun { WorkspaceId = ws.Id, CampaignId = campaign.Id, ScheduledFor = now, Status = RunStatus.Scheduled };
            db.Set<CampaignRun>().Add(run);
            await db.SaveChangesAsync();
            runId = run.Id;
            if (db.IsPostgres) await db.Database.ExecuteSqlRawAsync("ANALYZE contact; " + PgStat.ResetSql);
        }

        await app.StartAsync();
        Dictionary<int, double>? pgCpuBefore = null;
        if (provider == "postgres")
            await using (var scope = app.Services.CreateAsyncScope())
                pgCpuBefore = await PgStat.BackendCpuAsync(scope.ServiceProvider.GetRequiredService<HeraldDb>());
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        var total = Stopwatch.StartNew();
        // The start runs beside the progress loop: on PostgreSQL the first chunks are sent while the rest is written.
        var materialized = double.NaN;
        var start = Task.Run(async () =>
        {
            await using var scope = app.Services.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<IRunStarter>().StartAsync(runId, default);
            materialized = total.Elapsed.TotalSeconds;
            Console.WriteLine($"materialization: {materialized:F2} s");
        });

        CampaignRun r;
        var lastPrint = 0.0;
        var firstSent = double.NaN;
        while (true)
        {
            await using var scope = app.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
            r = await db.Set<CampaignRun>().AsNoTracking().FirstAsync(x => x.Id == runId);
            if (r.Sent > 0 && double.IsNaN(firstSent))
            {
                firstSent = total.Elapsed.TotalSeconds;
                Console.WriteLine($"first batch sent and recorded after {firstSent:F2} s");
            }
            if (start.IsFaulted) await start;
            if (start.IsCompleted && (r.FinishedAt is not null || r.Status is not (RunStatus.Running or RunStatus.Starting))) break;
            if (total.Elapsed.TotalSeconds - lastPrint >= 5)
            {
                lastPrint = total.Elapsed.TotalSeconds;
                Console.WriteLine($"  {lastPrint,5:F0} s: sent {r.Sent:N0}, pending {r.Pending:N0}, rss {Rss() / 1048576} MB");
            }
            await Task.Delay(50);
        }
        var elapsed = total.Elapsed.TotalSeconds;
        Console.WriteLine($"run {r.Status}: total {r.Total:N0}, sent {r.Sent:N0}, failed {r.Failed:N0}, skipped {r.Skipped:N0}");
        Console.WriteLine($"send phase (after the start returned): {(elapsed - materialized):F2} s = {r.Sent / (elapsed - materialized):N0} msg/s");
        Console.WriteLine($"end to end (materialize + send): {elapsed:F2} s = {r.Sent / elapsed:N0} msg/s");
        Console.WriteLine($"peak RSS: {PeakRss() / 1048576} MB (VmHWM), GC heap now {GC.GetTotalMemory(false) / 1048576} MB");
        if (sink is not null) Console.WriteLine($"sink received: {Interlocked.Read(ref sinkCount):N0}");
        var cpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        Console.WriteLine($"bench process CPU: {cpu:F1} s over {total.Elapsed.TotalSeconds:F1} s wall; load average {PgStat.LoadAverage()}");
        Console.WriteLine($"CPU per message, run only: bench {(cpu - cpuBefore) * 1e6 / Math.Max(1, r.Total):F1} us");
        if (pgCpuBefore is not null)
            await using (var scope = app.Services.CreateAsyncScope())
            {
                var pgCpu = PgStat.CpuSince(pgCpuBefore, await PgStat.BackendCpuAsync(scope.ServiceProvider.GetRequiredService<HeraldDb>()));
                Console.WriteLine($"PostgreSQL backends of this database: {pgCpu:F1} s CPU = {pgCpu * 1e6 / Math.Max(1, r.Total):F1} us per message; " +
                    $"bench + PostgreSQL = {((cpu - cpuBefore) + pgCpu) * 1e6 / Math.Max(1, r.Total):F1} us per message (2 cores: ceiling {2 * Math.Max(1, r.Total) / ((cpu - cpuBefore) + pgCpu):N0} msg/s)");
            }
        if (provider == "postgres" && args.Has("pgstat"))
        {
            await using var scope = app.Services.CreateAsyncScope();
            await PgStat.PrintAsync(scope.ServiceProvider.GetRequiredService<HeraldDb>(), 10);
        }
        await app.StopAsync();
        if (sink is not null) await sink.StopAsync();
        if (provider == "postgres" && !args.Has("keep"))
        {
            await using var scope = app.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
            db.Database.SetCommandTimeout(TimeSpan.FromMinutes(10));
            await db.Database.ExecuteSqlRawAsync("DELETE FROM workspace WHERE id = {0}; DELETE FROM delivery WHERE workspace_id = {0}; DELETE FROM outbox_message WHERE workspace_id = {0};", wsId);
        }
        if (args.Has("keep")) Console.WriteLine($"kept {dir}"); else try { Directory.Delete(dir, true); } catch (IOException) { }
        return r.Status == RunStatus.Completed ? 0 : 1;
    }

    private static long Rss() => ReadStatus("VmRSS:") ?? Environment.WorkingSet;

    private static long PeakRss() => ReadStatus("VmHWM:") ?? Process.GetCurrentProcess().PeakWorkingSet64;

    private static long? ReadStatus(string key)
    {
        if (!File.Exists("/proc/self/status")) return null;
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(key));
        return line is null ? null : long.Parse(line[key.Length..].Trim().Split(' ')[0]) * 1024;
    }

    /// <summary>Set-based generation (generate_series / recursive CTE): the fastest bulk path each engine has.</summary>
    internal static async Task InsertContactsAsync(HeraldDb db, long ws, int n, DateTime now)
    {
        const string cols = "workspace_id, email, first_name, lifecycle, tags, attributes, email_consent, sms_consent, whatsapp_consent, push_consent, consent_detail, total_orders, total_spent, engagement_score, rfm_recency, rfm_frequency, rfm_monetary, created_at, updated_at";
        if (db.IsPostgres)
        {
            var sql = $$"""
                INSERT INTO contact ({{cols}})
                SELECT {{ws}}, 'c' || i || '@example.com', 'Name' || i, 'lead', {1}::text[], {1}::jsonb, 'subscribed', 'subscribed', 'subscribed', 'subscribed', {1}::jsonb, 0, 0, 0, 0, 0, 0, {0}, {0}
                FROM generate_series(1, {{n}}) AS i
                """;
            await db.Database.ExecuteSqlRawAsync(sql, now, "{}");
        }
        else
        {
            var sql = $$"""
                WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {{n}})
                INSERT INTO contact ({{cols}})
                SELECT {{ws}}, 'c' || i || '@example.com', 'Name' || i, 'lead', '[]', {1}, 'subscribed', 'subscribed', 'subscribed', 'subscribed', {1}, 0, 0, 0, 0, 0, 0, {0}, {0}
                FROM s
                """;
            await db.Database.ExecuteSqlRawAsync(sql, now.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF"), "{}");
        }
    }
}

/// <summary>A webhook-like provider: one JSON POST per message with X-Message-Id, classified by status code.</summary>
internal sealed class HttpPostProviderFactory : IChannelProviderFactory
{
    private static readonly HttpClient Client = new(new SocketsHttpHandler { MaxConnectionsPerServer = 64, PooledConnectionLifetime = TimeSpan.FromMinutes(5) });

    public IReadOnlyCollection<string> Providers { get; } = ["httppost"];

    public IChannelProvider Create(string provider, string channel, string settingsJson) => new Provider();

    private sealed class Provider : IChannelProvider
    {
        public string Name => "httppost";

        public async Task<IReadOnlyList<SendResult>> SendBatchAsync(IReadOnlyList<OutgoingMessage> batch, CancellationToken ct) =>
            await Task.WhenAll(batch.Select(async m =>
            {
                try
                {
                    using var req = new HttpRequestMessage(HttpMethod.Post, m.Address) { Content = new StringContent(m.Content.Body ?? "{}", System.Text.Encoding.UTF8, "application/json") };
                    req.Headers.Add("X-Message-Id", m.DeliveryId.ToString());
                    using var res = await Client.SendAsync(req, ct);
                    var code = (int)res.StatusCode;
                    return res.IsSuccessStatusCode ? SendResult.Ok(m.DeliveryId)
                        : new SendResult(m.DeliveryId, code == 429 || code >= 500 ? FailureKind.Transient : FailureKind.Permanent, null, code.ToString(), res.ReasonPhrase,
                            res.Headers.RetryAfter?.Delta);
                }
                catch (HttpRequestException e)
                {
                    return new SendResult(m.DeliveryId, FailureKind.Transient, null, "http_error", e.Message);
                }
            }));

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
