using System.Data.Common;
using Herald.Campaigns;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Herald.Scheduling;

/// <summary>What one pass of the scheduler did.</summary>
public sealed record SchedulerResult(int Claimed, int Started, int Misfired, DateTime? NextDueAt);

/// <summary>
/// Starts campaign runs at their time. It sleeps until the earliest due <c>campaign_run.scheduled_for</c>
/// and is woken early by <see cref="SchedulerSignal"/> (runs created or moved; on PostgreSQL also by
/// NOTIFY from other nodes), so there is no polling interval; <see cref="SchedulerOptions.SafetyRecheck"/>
/// bounds the sleep as a safety net. Due runs are claimed with one statement (<see cref="RunClaimDue"/>)
/// so that with several nodes on one PostgreSQL each run starts exactly once.
/// Runs only on nodes with the <c>scheduler</c> role; tests call <see cref="RunOnceAsync"/> directly.
/// </summary>
public sealed class CampaignScheduler(
    IServiceScopeFactory scopes, RunLauncher launcher, SchedulerSignal signal, TimeProvider clock,
    IOptions<SchedulerOptions> options, ILogger<CampaignScheduler> log, Delivery.DeliverySignal deliverySignal) : BackgroundService
{
    private readonly SchedulerOptions _o = options.Value;

    /// <summary>Name written to <c>claimed_by</c>; a second instance in one process (tests) sets its own.</summary>
    public string Node { get; set; } = options.Value.Node;

    private int _loopPasses;

    /// <summary>Passes the hosted loop has completed (observability and tests).</summary>
    public int LoopPasses => Volatile.Read(ref _loopPasses);

    /// <summary>True while the PostgreSQL LISTEN connection is up.</summary>
    public bool Listening { get; private set; }

    /// <summary>Claims and starts every run due at <paramref name="nowUtc"/>, then reports the next due time.</summary>
    public async Task<SchedulerResult> RunOnceAsync(DateTime nowUtc, CancellationToken ct = default)
    {
        int claimed = 0, started = 0, misfired = 0;
        // SQLite has one writer: concurrent starts would only queue on its lock (and its busy back-off adds latency).
        using var gate = new SemaphoreSlim(await IsPostgresAsync() ? _o.MaxConcurrentStarts : 1);
        while (true)
        {
            var batch = await RunClaimDue(nowUtc, ct);
            claimed += batch.Count;
            var outcomes = await Task.WhenAll(batch.Select(async r =>
            {
                await gate.WaitAsync(ct);
                try
                {
                    var late = r.StartedAt - r.ScheduledFor > _o.MisfireThreshold;
                    return await launcher.LaunchAsync(r.Id, late, nowUtc, ct);
                }
                finally { gate.Release(); }
            }));
            started += outcomes.Count(o => o.Started);
            misfired += outcomes.Count(o => o.Misfired);
            if (batch.Count < _o.BatchSize) break;
        }
        return new SchedulerResult(claimed, started, misfired, await NextDueAsync(ct));
    }

    private bool? _isPostgres;

    private async ValueTask<bool> IsPostgresAsync()
    {
        if (_isPostgres is { } known) return known;
        await using var scope = scopes.CreateAsyncScope();
        return (_isPostgres = scope.ServiceProvider.GetRequiredService<HeraldDb>().IsPostgres).Value;
    }

    private sealed record ClaimedRun(long Id, DateTime ScheduledFor, DateTime StartedAt);

    /// <summary>
    /// RunClaimDue: one UPDATE ... RETURNING moves due runs from scheduled to starting and stamps this node.
    /// On PostgreSQL the inner SELECT takes row locks with SKIP LOCKED, so concurrent schedulers claim
    /// disjoint runs and never wait on each other; on SQLite the single statement is atomic (one writer).
    /// Each claim carries a lease (<see cref="SchedulerOptions.StartingLease"/>) that the launching node's heartbeat
    /// renews; a run still starting whose lease passed (its node died mid-start) is claimed again. The run starter
    /// is idempotent per run and serializes starts of one run. Walks the (status, scheduled_for) index in due order.
    /// </summary>
    private async Task<List<ClaimedRun>> RunClaimDue(DateTime nowUtc, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
        var lockClause = db.IsPostgres ? "FOR UPDATE SKIP LOCKED" : "";
        var sql = $"""
            UPDATE campaign_run SET status = @starting, claimed_by = @node, started_at = @now, lease_until = @lease_until
            WHERE id IN (
                SELECT id FROM campaign_run
                WHERE (status = @scheduled AND scheduled_for <= @now)
                   OR (status = @starting AND (lease_until < @now OR (lease_until IS NULL AND started_at < @legacy_stale)))
                ORDER BY scheduled_for
                LIMIT @limit {lockClause})
            RETURNING id, scheduled_for
            """;
        var conn = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var cmd = conn.CreateCommand();
            cmd.CommandText = sql;
            Add(cmd, "starting", RunStatus.Starting);
            Add(cmd, "scheduled", RunStatus.Scheduled);
            Add(cmd, "node", Node);
            Add(cmd, "now", nowUtc);
            Add(cmd, "lease_until", nowUtc + _o.StartingLease);
            Add(cmd, "legacy_stale", nowUtc - SchedulerOptions.LegacyStartingTimeout);
            Add(cmd, "limit", _o.BatchSize);
            var list = new List<ClaimedRun>();
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                list.Add(new ClaimedRun(reader.GetInt64(0), DateTime.SpecifyKind(reader.GetDateTime(1), DateTimeKind.Utc), nowUtc));
            return list.OrderBy(r => r.ScheduledFor).ToList();
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private static void Add(DbCommand cmd, string name, object value)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = "@" + name;
        p.Value = value is DateTime d ? DateTime.SpecifyKind(d, DateTimeKind.Utc) : value;
        cmd.Parameters.Add(p);
    }

    private async Task<DateTime?> NextDueAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
        var due = await db.Set<CampaignRun>().Where(r => r.Status == RunStatus.Scheduled).MinAsync(r => (DateTime?)r.ScheduledFor, ct);
        // A start in progress elsewhere is due again when its lease would pass: wake then, in case its node died.
        var lease = await db.Set<CampaignRun>().Where(r => r.Status == RunStatus.Starting).MinAsync(r => r.LeaseUntil, ct);
        return due is null ? lease : lease is null ? due : lease < due ? lease : due;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        Task listener = Task.CompletedTask;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
            if (db.IsPostgres) listener = ListenAsync(db.Database.GetConnectionString()!, stoppingToken);
        }
        log.LogInformation("Scheduler {Node} started", Node);
        while (!stoppingToken.IsCancellationRequested)
        {
            var woken = signal.NextWake; // taken before looking, so a run created meanwhile still wakes us
            TimeSpan sleep;
            try
            {
                var now = clock.GetUtcNow().UtcDateTime;
                var result = await RunOnceAsync(now, stoppingToken);
                if (result.Claimed > 0) log.LogDebug("Scheduler {Node} started {Started} of {Claimed} due runs", Node, result.Started, result.Claimed);
                sleep = result.NextDueAt is { } due ? due - clock.GetUtcNow().UtcDateTime : _o.SafetyRecheck;
                Interlocked.Increment(ref _loopPasses);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                log.LogError(e, "Scheduler pass failed; retrying shortly");
                sleep = TimeSpan.FromSeconds(1);
            }
            if (sleep <= TimeSpan.Zero) continue;
            if (sleep > _o.SafetyRecheck) sleep = _o.SafetyRecheck;
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            try
            {
                await Task.WhenAny(Task.Delay(sleep, clock, cts.Token), woken);
            }
            finally { cts.Cancel(); }
        }
        await listener.ContinueWith(_ => { }, TaskScheduler.Default);
    }

    /// <summary>LISTEN on a dedicated connection (outside the pool) and wake on every NOTIFY; reconnects after failures.</summary>
    private async Task ListenAsync(string connectionString, CancellationToken ct)
    {
        var cs = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, KeepAlive = 30 }.ToString();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var conn = new NpgsqlConnection(cs);
                await conn.OpenAsync(ct);
                // One connection serves both: a run started or retried elsewhere wakes this node's idle workers;
                // scheduler notifications (approve, resume, reschedule) wake both, since a resume is delivery work too.
                conn.Notification += (_, e) =>
                {
                    deliverySignal.Wake();
                    if (e.Channel == SchedulerSignal.Channel) signal.Wake();
                };
                await using (var cmd = new NpgsqlCommand($"LISTEN {SchedulerSignal.Channel}; LISTEN {Delivery.DeliverySignal.Channel}", conn)) await cmd.ExecuteNonQueryAsync(ct);
                Listening = true;
                signal.Wake(); // anything created while we were not listening
                while (!ct.IsCancellationRequested) await conn.WaitAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                Listening = false;
                log.LogWarning(e, "Scheduler LISTEN connection lost; reconnecting");
                try { await Task.Delay(TimeSpan.FromSeconds(2), clock, ct); } catch (OperationCanceledException) { return; }
            }
        }
    }
}

/// <summary>Registers the scheduler (always, so tests and send-now can use it) and runs it on scheduler nodes.</summary>
public static class SchedulingSetup
{
    public static IServiceCollection AddHeraldScheduling(this IServiceCollection services, Hosting.HeraldOptions herald)
    {
        services.AddOptions<SchedulerOptions>().BindConfiguration(SchedulerOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<SchedulerSignal>();
        services.AddSingleton<RunLauncher>();
        services.AddSingleton<CampaignScheduler>();
        if (herald.HasRole("scheduler")) services.AddHostedService(sp => sp.GetRequiredService<CampaignScheduler>());
        return services;
    }
}
