using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Bogus;
using Herald.Audience;
using Herald.Auth;
using Herald.Hosting;
using Herald.Storage;
using Herald.Workspaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Bench;

/// <summary>
/// audience: generates N contacts (Bogus) as a CSV, imports it through the real ImportService,
/// adds orders set-based, runs the full customer-metrics job, then measures preview latency
/// (count + 10-contact sample) of 3-condition filters, warm. On PostgreSQL prints the plans.
/// <c>dotnet run -c Release --project bench/Herald.Bench -- audience --provider postgres --pg "Host=...;Database=herald_bench" --rows 1000000</c>
/// Options: --import-only (stop after the import), --pgstat (the import's pg_stat_statements).
/// </summary>
public sealed class AudienceBench : IBenchCommand
{
    public string Name => "audience";
    public string Description => "CSV import rows/s and preview p50/p99 (--provider sqlite|postgres --pg <conn> --rows N)";

    private static readonly string[] Filters =
    [
        """{"totalSpent":{"gte":500},"city":"Mumbai","tags":{"any":["vip"]}}""",
        """{"lastOrderDays":{"lte":30},"plan":"gold","country":"IN"}""",
        """{"all":[{"field":"rfm.segment","op":"in","value":["champions","loyal"]},{"field":"engagementScore","op":"gte","value":3},{"field":"email","op":"exists"}]}""",
        """{"any":[{"field":"attributes.score","op":"gt","value":95},{"field":"city","op":"startsWith","value":"Ko"},{"field":"tags","op":"all","value":["new","sale"]}]}""",
    ];

    public async Task<int> RunAsync(BenchArgs args)
    {
        var provider = args.Get("provider", "sqlite");
        var rows = args.Get("rows", 100_000);
        var dir = args.Get("dir", Path.Combine(Path.GetTempPath(), "herald-audience-bench"));
        Directory.CreateDirectory(dir);
        var cs = provider == "postgres"
            ? args.Get("pg", "Host=127.0.0.1;Port=55510;Username=herald;Password=herald;Database=herald_bench")
            : $"Data Source={Path.Combine(dir, "bench.db")}";
        if (provider != "postgres") foreach (var f in Directory.GetFiles(dir, "bench.db*")) File.Delete(f);

        var csv = Path.Combine(dir, $"contacts-{rows}.csv");
        if (!File.Exists(csv))
        {
            var gen = Stopwatch.StartNew();
            GenerateCsv(csv, rows);
            Console.WriteLine($"generated {rows:N0} rows ({new FileInfo(csv).Length / 1024 / 1024} MiB) in {gen.Elapsed.TotalSeconds:F1} s");
        }

        var builder = WebApplication.CreateBuilder([]);
        builder.Configuration["Herald:Database:Provider"] = provider;
        builder.Configuration["Herald:Database:ConnectionString"] = cs;
        builder.Configuration["Herald:DataDirectory"] = dir;
        builder.Configuration["Herald:Roles"] = "web";
        builder.Configuration["Logging:LogLevel:Default"] = "Warning";
        builder.Configuration["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Warning";
        builder.Configuration["Logging:LogLevel:Herald.Audience"] = "Information";
        builder.AddHerald();
        await using var app = builder.Build();
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
            if (provider == "postgres") await db.Database.EnsureDeletedAsync();
        }
        await app.PrepareHeraldAsync();

        long wsId;
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
            var user = new User { Email = $"bench-{Guid.NewGuid():N}@example.com", CreatedAt = DateTime.UtcNow };
            db.Users.Add(user);
            await db.SaveChangesAsync();
            var ws = await scope.ServiceProvider.GetRequiredService<WorkspaceService>().CreateAsync(null, user.Id, new WorkspaceInput { Name = "bench", DefaultPhoneRegion = "IN" }, default);
            wsId = ws.Id;
            var copy = Path.Combine(dir, "upload.csv");
            File.Copy(csv, copy, overwrite: true);
            var job = new ImportJob { WorkspaceId = wsId, FileName = "bench.csv", Format = "csv", StoredPath = copy, CreatedBy = "bench", CreatedAt = DateTime.UtcNow };
            db.Add(job);
            await db.SaveChangesAsync();

            if (db.IsPostgres) await db.Database.ExecuteSqlRawAsync(PgStat.ResetSql);
            Console.WriteLine($"load average before import: {PgStat.LoadAverage()}");
            var sw = Stopwatch.StartNew();
            var result = await scope.ServiceProvider.GetRequiredService<ImportService>().RunAsync(job.Id, default);
            sw.Stop();
            Console.WriteLine($"import ({provider}): {result.RowsRead:N0} rows read, {result.Created:N0} created, {result.Failed:N0} failed in {sw.Elapsed.TotalSeconds:F1} s = {result.RowsRead / sw.Elapsed.TotalSeconds:N0} rows/s; load average {PgStat.LoadAverage()}");
            if (db.IsPostgres && args.Has("pgstat")) await PgStat.PrintAsync(db, 15);
        }
        if (args.Has("import-only")) return 0;

        await using (var scope = app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
            db.Database.SetCommandTimeout(TimeSpan.FromMinutes(10));
            var sw = Stopwatch.StartNew();
            var orders = await db.Database.ExecuteSqlRawAsync(db.IsPostgres
                ? """
                  INSERT INTO contact_event (workspace_id, contact_id, type, value, occurred_at, created_at)
                  SELECT c.workspace_id, c.id, 'order', round((random() * 400 + 5)::numeric, 2), now() - random() * interval '365 days', now()
                  FROM contact c CROSS JOIN LATERAL generate_series(1, (c.id % 5)::int) g WHERE c.workspace_id = {0}
                  """
                : """
                  WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 4)
                  INSERT INTO contact_event (workspace_id, contact_id, type, value, occurred_at, created_at)
                  SELECT c.workspace_id, c.id, 'order', (abs(random()) % 40000) / 100.0 + 5,
                         strftime('%Y-%m-%d %H:%M:%S', 'now', '-' || (abs(random()) % 365) || ' days'), strftime('%Y-%m-%d %H:%M:%S', 'now')
                  FROM contact c JOIN n ON n.k <= c.id % 5 WHERE c.workspace_id = {0}
                  """, wsId);
            Console.WriteLine($"orders: {orders:N0} inserted in {sw.Elapsed.TotalSeconds:F1} s");
            sw.Restart();
            var buyers = await scope.ServiceProvider.GetRequiredService<CustomerMetrics>().RecomputeAsync(wsId, default);
            Console.WriteLine($"customer metrics (totals + RFM + engagement): {buyers:N0} buyers in {sw.Elapsed.TotalSeconds:F1} s");
            if (db.IsPostgres) await db.Database.ExecuteSqlRawAsync("VACUUM ANALYZE contact");
            else await db.Database.ExecuteSqlRawAsync("ANALYZE");
        }

        var caller = new Caller(wsId, Role.Admin, "bench", null);
        foreach (var filter in Filters)
        {
            var audience = new AudienceDefinition { Filter = JsonDocument.Parse(filter).RootElement };
            var times = new List<double>();
            long count = 0;
            for (var i = 0; i < 25; i++)
            {
                await using var scope = app.Services.CreateAsyncScope();
                var svc = scope.ServiceProvider.GetRequiredService<AudienceService>();
                var sw = Stopwatch.StartNew();
                var p = await svc.PreviewAsync(caller, audience, default);
                sw.Stop();
                count = p.Count;
                if (i >= 5) times.Add(sw.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            Console.WriteLine($"preview {filter}\n  count {count:N0}: p50 {Pct(times, 0.5):F1} ms, p99 {Pct(times, 0.99):F1} ms");
            if (provider == "postgres") await ExplainAsync(app, wsId, audience);
        }
        return 0;
    }

    private static double Pct(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static async Task ExplainAsync(WebApplication app, long wsId, AudienceDefinition audience)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
        var fragment = await scope.ServiceProvider.GetRequiredService<IAudienceQuery>().CompileAsync(wsId, audience, default);
        await db.Database.OpenConnectionAsync();
        await using var cmd = db.Database.GetDbConnection().CreateCommand();
        cmd.CommandText = $"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) SELECT COUNT(*) FROM ({fragment.Sql}) x";
        cmd.Parameters.AddRange(AudienceQuery.ToDbParameters(db, fragment));
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            var line = r.GetString(0);
            if (line.Contains("Scan") || line.Contains("Execution Time") || line.Contains("Workers Launched")) Console.WriteLine("    " + line.Trim());
        }
    }

    private static void GenerateCsv(string path, int rows)
    {
        Randomizer.Seed = new Random(42);
        var f = new Faker("en_IND");
        string[] cities = ["Mumbai", "Delhi", "Bengaluru", "Hyderabad", "Chennai", "Kolkata", "Pune", "Ahmedabad", "Jaipur", "Kochi", "Lucknow", "Surat", "Indore", "Nagpur", "Goa"];
        string[] tags = ["vip", "new", "sale", "newsletter", "app", "wholesale", "b2b", "festive"];
        string[] plans = ["gold", "silver", "free", "trial"];
        using var w = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        w.WriteLine("externalId,email,phone,firstName,lastName,city,country,tags,plan,score");
        var sb = new StringBuilder();
        for (var i = 1; i <= rows; i++)
        {
            sb.Clear();
            var first = f.Name.FirstName();
            var last = f.Name.LastName();
            sb.Append("C").Append(i).Append(',');
            sb.Append(first.ToLowerInvariant()).Append('.').Append(i).Append("@example.com,");
            sb.Append("+9198").Append((i % 100_000_000).ToString("D8", CultureInfo.InvariantCulture)).Append(',');
            sb.Append(first).Append(',').Append(last).Append(',');
            sb.Append(cities[f.Random.Int(0, cities.Length - 1)]).Append(",IN,\"");
            sb.Append(string.Join(',', f.PickRandom(tags, f.Random.Int(0, 3)))).Append("\",");
            sb.Append(plans[f.Random.Int(0, plans.Length - 1)]).Append(',');
            sb.Append(f.Random.Int(0, 100).ToString(CultureInfo.InvariantCulture));
            w.WriteLine(sb);
        }
    }
}
