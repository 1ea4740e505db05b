using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Herald.Audit;
using Herald.Auth;
using Herald.Delivery;
using Herald.Hosting;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Herald.Campaigns;

/// <summary>Section <c>Herald:CampaignExpiry</c>.</summary>
public sealed class CampaignExpiryOptions
{
    public const string Section = "Herald:CampaignExpiry";

    /// <summary>How often campaigns past their endAt are looked for. Default: 15 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>What one expiry pass did.</summary>
public sealed record ExpiryResult(int Campaigns, int DeliveriesSkipped, IReadOnlyList<long> CampaignIds);

/// <summary>
/// Ends campaigns whose <c>endAt</c> has passed: their unsent (pending) deliveries end <c>skipped</c> with
/// reason <c>expired</c> in one statement per pass, their open runs finish (scheduled ones are cancelled),
/// and the campaign completes. Deliveries being sent right now finish normally; the delivery engine also
/// skips any delivery it claims after endAt, so the few seconds between passes send nothing late.
/// Runs on scheduler nodes; tests call <see cref="RunOnceAsync"/>.
/// </summary>
public sealed class CampaignExpiry(IServiceScopeFactory scopes, TimeProvider clock, IOptions<CampaignExpiryOptions> options, ILogger<CampaignExpiry> log) : BackgroundService
{
    /// <summary>
    /// DeliveryExpire (PostgreSQL): skips the pending deliveries of the expired campaigns' runs and moves the run
    /// counters by exactly the rows changed, in one statement. Goes through run_id (the delivery table's leading
    /// index column) rather than campaign_id, and touches only status = 'pending' rows (a leased row is being sent).
    /// </summary>
    private static readonly string ExpirePostgres = $"""
        WITH x AS (
            UPDATE delivery SET status = 'skipped', reason = 'expired', finished_at = @now, next_attempt_at = @now
            WHERE status = 'pending' AND run_id IN (SELECT id FROM campaign_run WHERE campaign_id = ANY(@ids))
              AND {DeliveryLease.NotLeasedSql("delivery")}
            RETURNING run_id
        ), agg AS (SELECT run_id, COUNT(*) AS n FROM x GROUP BY run_id)
        UPDATE campaign_run r SET pending = r.pending - agg.n, skipped = r.skipped + agg.n FROM agg WHERE r.id = agg.run_id
        RETURNING agg.n
        """;

    /// <summary>DeliveryExpire (SQLite): the same UPDATE; the counters follow per run in the same transaction.</summary>
    private const string ExpireSqlite = """
        UPDATE delivery SET status = 'skipped', reason = 'expired', finished_at = @now, next_attempt_at = @now
        WHERE status = 'pending' AND run_id IN (SELECT id FROM campaign_run WHERE campaign_id IN (SELECT value FROM json_each(@ids)))
        RETURNING run_id
        """;

    public async Task<ExpiryResult> RunOnceAsync(CancellationToken ct = default)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
        var now = clock.GetUtcNow().UtcDateTime;
        var expirable = CampaignStateMachine.From(CampaignTrigger.Expire);
        var due = await db.Set<Campaign>().AsNoTracking()
            .Where(c => c.EndAt != null && c.EndAt <= now && expirable.Contains(c.Status) && c.JourneyId == null)
            .Select(c => new { c.Id, c.WorkspaceId }).Take(500).ToListAsync(ct);
        if (due.Count == 0) return new ExpiryResult(0, 0, []);
        var ids = due.Select(c => c.Id).ToArray();
        var t = db.IsPostgres ? (object)now : Sql.SqliteTime(now);

        await using var tx = await db.Database.BeginTransactionAsync(ct);
        int skipped;
        if (db.IsPostgres)
        {
            // DeliveryExpireCloseFirstPass: the runs are locked first and their first pass closed, so no range can be
            // claimed from here on and this transaction's next statement sees every range claimed before (they are
            // left to their workers, which skip what is past endAt).
            await Sql.ExecAsync(db, "UPDATE campaign_run SET range_cursor = range_last WHERE campaign_id = ANY(@ids) AND range_cursor < range_last", ct, ("ids", ids));
            skipped = (await Sql.QueryAsync(db, ExpirePostgres, r => r.GetInt64(0), ct, ("ids", ids), ("now", now))).Sum(n => (int)n);
        }
        else
        {
            var runs = await Sql.QueryAsync(db, ExpireSqlite, r => r.GetInt64(0), ct, ("ids", JsonSerializer.Serialize(ids)), ("now", t));
            foreach (var g in runs.GroupBy(r => r))
                await Sql.ExecAsync(db, "UPDATE campaign_run SET pending = pending - @n, skipped = skipped + @n WHERE id = @r", ct, ("n", g.Count()), ("r", g.Key));
            skipped = runs.Count;
        }
        // Runs not started yet will never start; started ones are over. A run still 'starting' is left to the
        // launcher, whose compare-and-set on the (now completed) campaign cancels it.
        await db.Set<CampaignRun>().Where(r => ids.Contains(r.CampaignId) && r.Status == RunStatus.Scheduled).ExecuteUpdateAsync(s => s
            .SetProperty(r => r.Status, RunStatus.Cancelled).SetProperty(r => r.StatusReason, "expired: endAt passed before the run").SetProperty(r => r.FinishedAt, now), ct);
        await db.Set<CampaignRun>().Where(r => ids.Contains(r.CampaignId) && (r.Status == RunStatus.Running || r.Status == RunStatus.Paused)).ExecuteUpdateAsync(s => s
            .SetProperty(r => r.Status, RunStatus.Completed).SetProperty(r => r.StatusReason, "expired: endAt reached").SetProperty(r => r.FinishedAt, now), ct);
        var completed = CampaignStateMachine.Next(CampaignStatus.Running, CampaignTrigger.Expire);
        await db.Set<Campaign>().Where(c => ids.Contains(c.Id) && expirable.Contains(c.Status)).ExecuteUpdateAsync(s => s
            .SetProperty(c => c.Status, completed).SetProperty(c => c.StatusReason, "expired: endAt reached").SetProperty(c => c.NextRunAt, (DateTime?)null)
            .SetProperty(c => c.UpdatedAt, now).SetProperty(c => c.Version, c => c.Version + 1), ct);
        var audit = scope.ServiceProvider.GetRequiredService<AuditLog>();
        foreach (var c in due) audit.Record(Caller.SystemFor(c.WorkspaceId), "campaign.expire", "campaign", c.Id);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        log.LogInformation("Expired {Campaigns} campaigns past their endAt; {Skipped} unsent deliveries skipped", due.Count, skipped);
        return new ExpiryResult(due.Count, skipped, ids);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval, clock);
        do
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                log.LogWarning(e, "Campaign expiry pass failed; retrying at the next interval");
            }
        } while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>Registers the job; the loop runs only on scheduler nodes.</summary>
    public static IServiceCollection AddCampaignExpiry(IServiceCollection services, HeraldOptions herald)
    {
        services.AddOptions<CampaignExpiryOptions>().BindConfiguration(CampaignExpiryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<CampaignExpiry>();
        if (herald.HasRole("scheduler")) services.AddHostedService(sp => sp.GetRequiredService<CampaignExpiry>());
        return services;
    }
}
