using System.Globalization;
using System.Text.Json;
using Herald.Campaigns;
using Herald.Common;
using Herald.Delivery;
using Herald.Journeys;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Herald.Tracking;

/// <summary>
/// <c>abTest</c> of a campaign: <c>testPercent</c> of the audience is split between the variants by their weights and
/// sent first; after <c>waitFor</c> (ISO 8601, from the run's start) the variant with the best <c>metric</c> rate
/// (open | click | conversion, over sent messages) goes to the rest. <c>{}</c> on PATCH removes the test phase.
/// </summary>
public sealed class AbTestInput
{
    public int? TestPercent { get; set; }
    public string? Metric { get; set; }
    public string? WaitFor { get; set; }

    public bool IsEmpty => TestPercent is null && Metric is null && WaitFor is null;
}

/// <summary>A validated test phase, as stored on the campaign.</summary>
public sealed record AbTestDefinition(int TestPercent, string Metric, string WaitFor)
{
    public static readonly string[] Metrics = ["open", "click", "conversion"];
    public static readonly TimeSpan MinWait = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan MaxWait = TimeSpan.FromDays(30);

    public TimeSpan Wait => JourneyValidator.TryDuration(WaitFor, out var d) ? d : MinWait;

    /// <summary>Checks <paramref name="input"/> against the campaign's variants; null when it is empty (no test phase).</summary>
    public static AbTestDefinition? Validate(AbTestInput? input, IReadOnlyList<Variant>? variants, Validation v)
    {
        if (input is null || input.IsEmpty) return null;
        if (input.TestPercent is not (>= 1 and <= 99)) v.Add("abTest.testPercent", "Give the share of the audience that tests, 1 to 99 (percent).");
        var metric = input.Metric?.Trim().ToLowerInvariant();
        if (metric is null || !Metrics.Contains(metric)) v.Add("abTest.metric", $"metric is one of {string.Join(", ", Metrics)}.");
        if (!JourneyValidator.TryDuration(input.WaitFor, out var wait)) v.Add("abTest.waitFor", "Give an ISO 8601 duration such as PT4H.");
        else if (wait < MinWait || wait > MaxWait) v.Add("abTest.waitFor", "Wait between PT1M and P30D.");
        if ((variants?.Count(x => x.Weight > 0) ?? 0) < 2) v.Add("abTest", "An A/B test needs at least two variants with a weight above 0.");
        return v.IsValid ? new AbTestDefinition(input.TestPercent!.Value, metric!, input.WaitFor!.Trim()) : null;
    }

    public static AbTestDefinition? Parse(string? json) =>
        string.IsNullOrWhiteSpace(json) ? null : JsonSerializer.Deserialize<AbTestDefinition>(json, RunStarter.StoredJson);
}

/// <summary>One variant's figures in a test.</summary>
public sealed record AbVariantFigures(string Name, int Sent, int Opened, int Clicked, int Converted, double Rate);

/// <summary>The test phase of a run (campaign_run.ab_decision): testing until <see cref="DecideAt"/>, then decided with the figures it went by.</summary>
public sealed record AbTestState(string Status, string Metric, int TestPercent, string WaitFor, DateTime DecideAt, DateTime? DecidedAt = null,
    string? Winner = null, int? Holdback = null, IReadOnlyList<AbVariantFigures>? Variants = null)
{
    public const string Testing = "testing";
    public const string Decided = "decided";

    public string ToJson() => JsonSerializer.Serialize(this, RunStarter.StoredJson);

    public static AbTestState? Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return null;
        try { return JsonSerializer.Deserialize<AbTestState>(json, RunStarter.StoredJson); }
        catch (JsonException) { return null; }
    }
}

/// <summary>What one decider pass did (tests read it).</summary>
public sealed record AbDecisionResult(IReadOnlyList<long> DecidedRuns);

/// <summary>
/// Ends A/B test phases whose wait is over: picks the winner from the run's variant counters (kept in step with the
/// tracking events), hands it the held-back deliveries and wakes the workers. A compare-and-set on
/// <c>campaign_run.ab_decide_at</c> makes exactly one node decide a run, in one transaction with the moved rows.
/// </summary>
public sealed class AbTestDecider(IServiceScopeFactory scopes, DeliverySignal signal, TimeProvider clock, ILogger<AbTestDecider> log)
{
    public async Task<AbDecisionResult> RunOnceAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
        var now = clock.GetUtcNow().UtcDateTime;
        var due = await db.Set<CampaignRun>().AsNoTracking()
            .Where(r => r.AbDecideAt != null && r.AbDecideAt <= now && (r.Status == RunStatus.Running || r.Status == RunStatus.Paused))
            .OrderBy(r => r.AbDecideAt).Select(r => r.Id).Take(50).ToListAsync(ct);
        var decided = new List<long>();
        foreach (var runId in due)
            if (await DecideAsync(db, runId, now, ct)) decided.Add(runId);
        if (decided.Count > 0) signal.Wake();
        return new AbDecisionResult(decided);
    }

    /// <summary>When the next test is due (null: none), so the loop can sleep until then.</summary>
    public async Task<DateTime?> NextDueAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
        return await db.Set<CampaignRun>().Where(r => r.AbDecideAt != null).MinAsync(r => r.AbDecideAt, ct);
    }

    private async Task<bool> DecideAsync(HeraldDb db, long runId, DateTime now, CancellationToken ct)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var claimed = await db.Set<CampaignRun>().Where(r => r.Id == runId && r.AbDecideAt != null)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.AbDecideAt, (DateTime?)null), ct);
        if (claimed == 0) return false;
        var run = await db.Set<CampaignRun>().AsNoTracking().FirstAsync(r => r.Id == runId, ct);
        var order = await db.Set<Campaign>().AsNoTracking().Where(c => c.Id == run.CampaignId).Select(c => c.Variants).FirstOrDefaultAsync(ct);
        var names = RunStarter.ParseVariants(order).Select(v => v.Name).ToList();
        var state = AbTestState.Parse(run.AbDecision);
        var metric = state?.Metric ?? "open";
        var stats = await db.Set<RunVariantStat>().AsNoTracking().Where(s => s.RunId == runId).ToListAsync(ct);
        var figures = names.Select(n => stats.FirstOrDefault(s => s.Variant == n) is { } s
            ? new AbVariantFigures(n, s.Sent, s.Opened, s.Clicked, s.Converted, Rate(metric, s))
            : new AbVariantFigures(n, 0, 0, 0, 0, 0)).ToList();
        // Best rate; a tie goes to the variant listed first (figures keep the campaign's order).
        var winner = figures.Count == 0 ? null : figures.Aggregate((best, f) => f.Rate > best.Rate ? f : best).Name;
        var moved = 0;
        if (winner is not null)
        {
            // AbHoldbackRelease: the held-back rows (variant NULL, reason ab_test) take the winner and become due now.
            moved = await Sql.ExecAsync(db, """
                UPDATE delivery SET variant = @w, next_attempt_at = @now, reason = NULL
                WHERE run_id = @r AND status = 'pending' AND variant IS NULL AND reason = 'ab_test'
                """, ct, ("w", winner), ("now", db.IsPostgres ? now : Sql.SqliteTime(now)), ("r", runId));
            await RunStats.ApplyAsync(db, [new StatDelta(runId, winner, now) { Total = moved }], StatParts.Variant, ct);
        }
        var decided = (state ?? new AbTestState(AbTestState.Testing, metric, 0, "", now)) with
        {
            Status = AbTestState.Decided, DecidedAt = now, Winner = winner, Holdback = moved, Variants = figures,
        };
        await db.Set<CampaignRun>().Where(r => r.Id == runId).ExecuteUpdateAsync(s => s.SetProperty(r => r.AbDecision, decided.ToJson()), ct);
        await tx.CommitAsync(ct);
        log.LogInformation("A/B test of run {RunId}: {Winner} wins by {Metric} rate ({Figures}); {Moved} deliveries released", runId, winner, metric,
            string.Join(", ", figures.Select(f => $"{f.Name} {f.Rate.ToString("P1", CultureInfo.InvariantCulture)} of {f.Sent}")), moved);
        return true;
    }

    private static double Rate(string metric, RunVariantStat s)
    {
        var part = metric switch { "click" => s.Clicked, "conversion" => s.Converted, _ => s.Opened };
        return s.Sent <= 0 ? 0 : (double)part / s.Sent;
    }
}

/// <summary>Runs <see cref="AbTestDecider"/> on scheduler nodes: sleeps until the next test is due (at most <see cref="TrackingOptions.AbTestPollSeconds"/>).</summary>
public sealed class AbTestWorker(AbTestDecider decider, IOptions<TrackingOptions> options, TimeProvider clock, ILogger<AbTestWorker> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        var max = TimeSpan.FromSeconds(options.Value.AbTestPollSeconds);
        while (!ct.IsCancellationRequested)
        {
            var wait = max;
            try
            {
                await decider.RunOnceAsync(ct);
                if (await decider.NextDueAsync(ct) is { } next)
                    wait = TimeSpan.FromTicks(Math.Clamp((next - clock.GetUtcNow().UtcDateTime).Ticks, TimeSpan.FromMilliseconds(50).Ticks, max.Ticks));
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e) { log.LogError(e, "A/B decision pass failed"); }
            try { await Task.Delay(wait, clock, ct); }
            catch (OperationCanceledException) { return; }
        }
    }
}
