using System.Diagnostics;
using Herald.Auth;
using Herald.Contacts;
using Herald.Hosting;
using Herald.Journeys;
using Herald.Storage;
using Herald.Workspaces;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Herald.Bench;

/// <summary>
/// 100,000 contacts upserted through ContactService.BulkUpsertAsync (what POST /contacts/bulk runs) in
/// batches of 10,000 into an active welcome journey (send now, wait P2D, send). Reports enrollment
/// latency (contact created_at -> enrollment entered_at, per contact) and the engine's step
/// throughput draining the enrollments with <c>--nodes</c> engine instances.
/// </summary>
public sealed class JourneysBench : IBenchCommand
{
    public string Name => "journeys";
    public string Description => "welcome journey: enrollment latency p99 and step throughput (--provider sqlite|postgres --pg <conn> --contacts N --nodes N)";

    public async Task<int> RunAsync(BenchArgs args)
    {
        var provider = args.Get("provider", "sqlite");
        var total = args.Get("contacts", 100_000);
        var batch = args.Get("batch", 10_000);
        var nodes = args.Get("nodes", provider == "postgres" ? 2 : 1);
        var dir = Path.Combine(Path.GetTempPath(), "herald-bench-journeys-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        string cs;
        string? dropDb = null;
        var admin = args.Get("pg", "Host=127.0.0.1;Port=55560;Username=herald;Password=herald;Database=postgres");
        if (provider == "postgres")
        {
            dropDb = "herald_bench_" + Guid.NewGuid().ToString("N")[..12];
            await using (var conn = new NpgsqlConnection(admin))
            {
                await conn.OpenAsync();
                await new NpgsqlCommand($"CREATE DATABASE {dropDb}", conn).ExecuteNonQueryAsync();
            }
            cs = new NpgsqlConnectionStringBuilder(admin) { Database = dropDb, MaxPoolSize = 50 }.ToString();
        }
        else cs = $"Data Source={Path.Combine(dir, "herald.db")}";

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = dir, EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Herald:Database:Provider"] = provider,
            ["Herald:Database:ConnectionString"] = cs,
            ["Herald:DataDirectory"] = dir,
            ["Herald:Roles"] = "web", // the engine is driven below so its throughput is measured alone
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Warning",
        });
        // Registered before Herald's own observers, so it stamps the moment the contacts were saved
        // (ContactService calls observers after SaveChanges, in registration order).
        var saved = new SavedStamps();
        builder.Services.AddSingleton(saved);
        builder.Services.AddScoped<IContactObserver, SavedStampObserver>();
        builder.AddHerald();
        builder.Services.AddScoped<IContactObserver, DoneStampObserver>(); // after the journey triggers: their insert is committed
        await using var app = builder.Build();
        await app.PrepareHeraldAsync();

        long wsId;
        string journeyId;
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
            var ws = new Workspace { Name = "bench", Timezone = "UTC", CreatedAt = DateTime.UtcNow };
            db.Add(ws);
            await db.SaveChangesAsync();
            wsId = ws.Id;
            var svc = scope.ServiceProvider.GetRequiredService<JourneyService>();
            var caller = Caller.SystemFor(wsId);
            var j = await svc.CreateAsync(caller, new JourneyInput
            {
                Name = "Welcome", Trigger = new TriggerDef { Type = TriggerTypes.ContactCreated },
                Steps =
                [
                    new StepDef { Id = "welcome", Type = StepTypes.Send, Channel = "email", Content = new() { Email = new() { Subject = "Welcome", Html = "<p>Hi</p>" } } },
                    new StepDef { Id = "pause", Type = StepTypes.Wait, Duration = "P2D" },
                    new StepDef { Id = "tips", Type = StepTypes.Send, Channel = "email", Content = new() { Email = new() { Subject = "Tips", Html = "<p>Tips</p>" } } },
                ],
            }, default);
            await svc.ActivateAsync(caller, j.Id, default);
            journeyId = j.Id.ToString();
        }

        Console.WriteLine($"journeys bench: provider={provider} contacts={total} batch={batch} nodes={nodes}");
        var ingest = Stopwatch.StartNew();
        var run = Guid.NewGuid().ToString("N")[..6];
        for (var done = 0; done < total; done += batch)
        {
            var inputs = Enumerable.Range(done, Math.Min(batch, total - done))
                .Select(i => new ContactInput { Email = $"c{i}-{run}@bench.example", FirstName = "C" + i }).ToList();
            await using var scope = app.Services.CreateAsyncScope();
            var r = await scope.ServiceProvider.GetRequiredService<ContactService>().BulkUpsertAsync(Caller.SystemFor(wsId), inputs, default);
            if (r.Created != inputs.Count) throw new InvalidOperationException($"expected {inputs.Count} created, got {r.Created}");
        }
        ingest.Stop();

        List<double> latencies;
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
            var jid = long.Parse(journeyId);
            var pairs = await (from e in db.Set<Enrollment>() join c in db.Set<Contact>() on e.ContactId equals c.Id
                               where e.JourneyId == jid select new { e.EnteredAt, c.CreatedAt, c.Id }).ToListAsync();
            var afterSave = pairs.Select(p => (p.EnteredAt - saved.For(p.Id)).TotalMilliseconds).Order().ToList();
            var inserts = saved.InsertDurations().Order().ToList();
            Console.WriteLine($"enrollment insert per {batch}-contact batch (observer called -> rows committed): median {inserts[inserts.Count / 2]:F0} ms, max {inserts[^1]:F0} ms");
            Console.WriteLine($"trigger alone (contacts committed -> enrollment entered_at): p50 {afterSave[afterSave.Count / 2]:F0} ms, p99 {afterSave[(int)(afterSave.Count * 0.99)]:F0} ms, max {afterSave[^1]:F0} ms");
            if (pairs.Count != total) throw new InvalidOperationException($"expected {total} enrollments, got {pairs.Count}");
            latencies = pairs.Select(p => (p.EnteredAt - p.CreatedAt).TotalMilliseconds).Order().ToList();
        }
        double P(double q) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)];
        Console.WriteLine($"ingest: {total} contacts in {ingest.Elapsed.TotalSeconds:F1} s ({total / ingest.Elapsed.TotalSeconds:F0} contacts/s, bulk upsert + enrollment)");
        Console.WriteLine($"enrollment latency (contact created_at -> enrollment entered_at): p50 {P(0.50):F0} ms, p99 {P(0.99):F0} ms, max {latencies[^1]:F0} ms");

        var engines = Enumerable.Range(0, nodes).Select(i => new JourneyEngine(app.Services.GetRequiredService<IServiceScopeFactory>(), TimeProvider.System,
            Options.Create(new JourneyEngineOptions { NodeId = $"bench-node-{i}", BatchSize = args.Get("claim", 500) }),
            new JourneyPlanCache(), NullLogger<JourneyEngine>.Instance)).ToList();
        var sw = Stopwatch.StartNew();
        var steps = await Task.WhenAll(engines.Select(async e =>
        {
            var n = 0;
            for (var idle = 0; idle < 2;)
            {
                var r = await e.RunOnceAsync(default);
                n += r.StepsExecuted;
                idle = r.Claimed == 0 ? idle + 1 : 0;
            }
            return n;
        }));
        sw.Stop();
        var executed = steps.Sum();
        Console.WriteLine($"engine: {executed} steps (send + wait per contact) in {sw.Elapsed.TotalSeconds:F1} s = {executed / sw.Elapsed.TotalSeconds:F0} steps/s over {nodes} node(s) [{string.Join(", ", steps)}]");
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
            var deliveries = await db.Set<Herald.Delivery.DeliveryRow>().CountAsync();
            var waiting = await db.Set<Enrollment>().CountAsync(e => e.State == EnrollmentState.Waiting && e.StepId == "tips");
            Console.WriteLine($"check: {deliveries} delivery rows, {waiting} enrollments waiting for step 'tips'");
        }

        await app.DisposeAsync();
        if (dropDb is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var conn = new NpgsqlConnection(admin);
            await conn.OpenAsync();
            await new NpgsqlCommand($"DROP DATABASE IF EXISTS {dropDb} WITH (FORCE)", conn).ExecuteNonQueryAsync();
        }
        try { Directory.Delete(dir, true); } catch (IOException) { }
        return 0;
    }
}

/// <summary>When each bulk batch's contacts were committed (the lowest and highest id of the batch).</summary>
internal sealed class SavedStamps
{
    private readonly List<(long From, long To, DateTime At)> _batches = [];
    private readonly List<(long From, DateTime At)> _done = [];

    public void Done(long from, DateTime at) { lock (_done) _done.Add((from, at)); }

    public IEnumerable<double> InsertDurations() => _done.Select(d => (d.At - _batches.First(b => b.From == d.From).At).TotalMilliseconds);

    public void Add(long from, long to, DateTime at) { lock (_batches) _batches.Add((from, to, at)); }

    public DateTime For(long id) { lock (_batches) return _batches.First(b => id >= b.From && id <= b.To).At; }
}

internal sealed class SavedStampObserver(SavedStamps stamps) : IContactObserver
{
    public Task ContactsCreatedAsync(long workspaceId, IReadOnlyList<long> contactIds, CancellationToken ct)
    {
        stamps.Add(contactIds.Min(), contactIds.Max(), DateTime.UtcNow);
        return Task.CompletedTask;
    }

    public Task ContactsUpdatedAsync(long workspaceId, IReadOnlyList<ContactChange> changes, CancellationToken ct) => Task.CompletedTask;
    public Task EventsRecordedAsync(long workspaceId, IReadOnlyList<ContactEvent> events, CancellationToken ct) => Task.CompletedTask;
}

internal sealed class DoneStampObserver(SavedStamps stamps) : IContactObserver
{
    public Task ContactsCreatedAsync(long workspaceId, IReadOnlyList<long> contactIds, CancellationToken ct)
    {
        stamps.Done(contactIds.Min(), DateTime.UtcNow);
        return Task.CompletedTask;
    }

    public Task ContactsUpdatedAsync(long workspaceId, IReadOnlyList<ContactChange> changes, CancellationToken ct) => Task.CompletedTask;
    public Task EventsRecordedAsync(long workspaceId, IReadOnlyList<ContactEvent> events, CancellationToken ct) => Task.CompletedTask;
}
