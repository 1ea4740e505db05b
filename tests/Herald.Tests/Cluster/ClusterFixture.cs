using Herald.Tests.Infrastructure;

namespace Herald.Tests.Cluster;

/// <summary>
/// Three real Herald processes on one fresh PostgreSQL database, shared by the tests of one class (starting them
/// costs seconds). Logs go to <c>cluster-logs/&lt;time&gt;</c> under the test output. PostgreSQL only: SQLite has
/// one owner process by design, so <see cref="Skip"/> says why nothing ran.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const int Recipients = 12_000;
    public const string Everyone = "everyone";
    public HeraldCluster? Cluster { get; private set; }
    public ClusterSink Sink { get; private set; } = null!;
    public string? Skip { get; private set; }

    public async Task InitializeAsync()
    {
        if (!TestDatabase.IsPostgres) { Skip = "PostgreSQL only (HERALD_TEST_PROVIDER=postgres)"; return; }
        Sink = await ClusterSink.StartAsync();
        var logs = Path.Combine(AppContext.BaseDirectory, "cluster-logs", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss") + "-" + Guid.NewGuid().ToString("N")[..4]);
        Cluster = await HeraldCluster.StartAsync(Environment.GetEnvironmentVariable("HERALD_TEST_PG")!, 3, logs, ClusterSettings.Test);
        using var api = Cluster.Api();
        await api.SeedContactsAsync(Recipients, Everyone);
    }

    /// <summary>Restarts nodes an earlier test killed, so each test starts with the whole cluster.</summary>
    public Task EnsureAllRunningAsync() => Cluster!.RestartStoppedAsync(TimeSpan.FromSeconds(90));

    public async Task DisposeAsync()
    {
        if (Cluster is not null) await Cluster.DisposeAsync();
        if (Sink is not null) await Sink.DisposeAsync();
    }
}
