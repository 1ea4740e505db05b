using Herald.Tests.Infrastructure;

namespace Herald.Tests.Cluster;

/// <summary>
/// Three real Herald processes on one fresh PostgreSQL database, shared by the tests of one class (starting them
/// costs seconds). Logs go to <c>cluster-logs/&lt;time&gt;</c> under the test output. PostgreSQL only: SQLite has
/// one owner process by design, so on SQLite nothing is started (the tests are <see cref="PostgresFactAttribute"/>s and report skipped).
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const int Recipients = 12_000;
    public const string Everyone = "everyone";
    /// <summary>Contacts of the cluster's first campaign, sent by <see cref="InitializeAsync"/> right after the import.</summary>
    public const string First = "first";
    public const int FirstRecipients = 20;
    public HeraldCluster? Cluster { get; private set; }
    public ClusterSink Sink { get; private set; } = null!;

    /// <summary>The cluster's first campaign (right after start and import), as a user would have seen it.</summary>
    public ClusterRunResult? FirstCampaign { get; private set; }

    /// <summary>Its run's claim latency: started_at - scheduled_for, in seconds.</summary>
    public double FirstClaimSeconds { get; private set; }

    public async Task InitializeAsync()
    {
        if (!TestDatabase.IsPostgres) return;
        Sink = await ClusterSink.StartAsync();
        var logs = Path.Combine(AppContext.BaseDirectory, "cluster-logs", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss") + "-" + Guid.NewGuid().ToString("N")[..4]);
        Cluster = await HeraldCluster.StartAsync(Environment.GetEnvironmentVariable("HERALD_TEST_PG")!, 3, logs, ClusterSettings.Test);
        using var api = Cluster.Api();
        await api.SeedContactsAsync(Recipients, Everyone);
        await api.SeedContactsAsync(FirstRecipients, First);
        // Sent here, before any test, because only the first campaign after an import met the planner without
        // statistics for contact (ContactAnalyzeStale in RunStarter); which test xunit runs first is not fixed.
        await api.WebhookChannelAsync(Sink.BaseUrl + "/first");
        FirstCampaign = await ClusterScenarios.DeliverAsync(Cluster, Sink, First, FirstRecipients, TimeSpan.FromSeconds(150));
        FirstClaimSeconds = (await Cluster.QueryAsync(
            "SELECT EXTRACT(EPOCH FROM started_at - scheduled_for)::float8 FROM campaign_run r JOIN campaign c ON c.id = r.campaign_id WHERE c.name = @n",
            r => r.GetDouble(0), ("n", "cluster " + First))).Single();
    }

    /// <summary>Restarts nodes an earlier test killed, so each test starts with the whole cluster.</summary>
    public Task EnsureAllRunningAsync() => Cluster!.RestartStoppedAsync(TimeSpan.FromSeconds(90));

    public async Task DisposeAsync()
    {
        if (Cluster is not null) await Cluster.DisposeAsync();
        if (Sink is not null) await Sink.DisposeAsync();
    }
}
