using Herald.Tests.Cluster;

namespace Herald.Bench;

/// <summary>
/// Soak of several real Herald processes on one PostgreSQL database (the harness of tests/Herald.Tests/Cluster,
/// linked): throughput of one webhook campaign with N, N-1 ... 1 nodes, then a run with one node SIGKILLed
/// mid-way (at_most_once: none lost, none twice, unknown at most the node's in-flight batch), then the
/// global rate limit measured at the sink.
/// Options: --pg "&lt;admin connection&gt;" (required; a database is created and dropped) --nodes 3 --recipients 100000
/// --rate 0|N (per second; 0 skips) --window 60 (seconds measured) --kill (the kill run)
/// </summary>
public sealed class ClusterBench : IBenchCommand
{
    public string Name => "cluster";
    public string Description => "N Herald processes on one PostgreSQL: throughput per node count, kill -9 mid-run, global rate accuracy";

    public async Task<int> RunAsync(BenchArgs args)
    {
        var pg = args.Get("pg", "");
        if (pg.Length == 0) { Console.Error.WriteLine("--pg \"Host=...;Username=...;Password=...;Database=postgres\" is required"); return 2; }
        var nodes = args.Get("nodes", 3);
        var recipients = args.Get("recipients", 100_000);
        var rate = args.Get("rate", 0);
        var window = args.Get("window", 60);
        var logs = Path.Combine("artifacts", "bench-cluster", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss"));
        var summary = new List<string>();
        Console.WriteLine($"cluster: {nodes} nodes, {recipients:N0} recipients, webhook to an in-process sink; logs in {logs}; load {Load()}");

        try
        {
            return await RunPhasesAsync(args, pg, nodes, recipients, rate, window, logs, summary);
        }
        finally
        {
            // The figures docs/scaling.md quotes, in one block (per phase: result and the load average at its end).
            Console.WriteLine($"summary ({nodes} nodes, {recipients:N0} recipients, logs {logs}):");
            foreach (var line in summary) Console.WriteLine("  " + line);
        }
    }

    private static async Task<int> RunPhasesAsync(BenchArgs args, string pg, int nodes, int recipients, int rate, int window, string logs, List<string> summary)
    {
        var failures = 0;
        await using var sink = await ClusterSink.StartAsync();
        var settings = new Dictionary<string, string>(ClusterSettings.Soak);
        await using var cluster = await HeraldCluster.StartAsync(pg, nodes, logs, settings, TimeSpan.FromSeconds(180));
        using (var api = cluster.Api())
        {
            var seed = System.Diagnostics.Stopwatch.StartNew();
            await api.SeedContactsAsync(recipients, "bench");
            Console.WriteLine($"seeded {recipients:N0} contacts in {seed.Elapsed.TotalSeconds:F1} s");
            summary.Add($"seed: {recipients:N0} contacts in {seed.Elapsed.TotalSeconds:F1} s; load {Load()}");
            await api.WebhookChannelAsync(sink.BaseUrl + "/bench");
        }
        var timeout = TimeSpan.FromSeconds(Math.Max(300, recipients / 100));

        // Throughput: all nodes, then one fewer each time (the stopped ones are SIGKILLed while idle).
        for (var k = nodes; k >= 1; k--)
        {
            for (var i = k; i < nodes; i++) if (cluster.Nodes[i].IsRunning) cluster.Nodes[i].Kill();
            var r = await ClusterScenarios.DeliverAsync(cluster, sink, "bench", recipients, timeout);
            Console.WriteLine($"throughput, {k} node(s): {r}; load {Load()}");
            summary.Add($"throughput {k} node(s): {r.MessagesPerSecond:F0} msg/s ({r.Seconds:F1} s), first message {r.FirstMessageSeconds:F1} s after the run's time, " +
                        $"{r.Tally.Count("sent")} sent, {r.SinkDuplicates} twice; load {Load()}");
        }
        await cluster.RestartStoppedAsync(TimeSpan.FromSeconds(240));

        if (args.Has("kill"))
        {
            var r = await ClusterScenarios.DeliverAsync(cluster, sink, "bench", recipients, timeout, killNode: nodes - 1);
            var ok = r.SinkDuplicates == 0 && r.LostSent == 0 && r.UnexpectedAtSink == 0 && r.Tally.Count("pending", "sending") == 0
                     && r.Tally.Count("unknown") <= r.KilledInFlight && r.Tally.FromRows == r.Tally.Counters;
            Console.WriteLine($"kill -9 mid-run ({(ok ? "PASS" : "FAIL")}): {r}; counters {(r.Tally.FromRows == r.Tally.Counters ? "equal" : "differ from")} rows; load {Load()}");
            summary.Add($"kill -9 {(ok ? "PASS" : "FAIL")}: {r.Tally.Count("sent")} sent + {r.Tally.Count("unknown")} unknown (killed {r.KilledNode} held {r.KilledInFlight} in flight), " +
                        $"{r.Tally.Count("pending", "sending")} not final, {r.LostSent} lost, {r.SinkDuplicates} twice at the sink, counters {(r.Tally.FromRows == r.Tally.Counters ? "=" : "<>")} rows; load {Load()}");
            if (!ok) failures++;
            await cluster.RestartStoppedAsync(TimeSpan.FromSeconds(240));
        }

        if (rate > 0)
        {
            using var api = cluster.Api();
            var (measured, error) = await ClusterScenarios.MeasureRateAsync(cluster, sink, "bench", rate, TimeSpan.FromSeconds(3),
                TimeSpan.FromSeconds(window), TimeSpan.FromSeconds(window + 120));
            var ok = error <= 0.05;
            Console.WriteLine($"global rate limit {rate}/s across {nodes} nodes ({(ok ? "PASS" : "FAIL")}): measured {measured:F1}/s over {window} s, {error:P2} off; load {Load()}");
            summary.Add($"rate {(ok ? "PASS" : "FAIL")}: limit {rate}/s, measured {measured:F1}/s over {window} s ({error:P2} off, bound 5%); load {Load()}");
            if (!ok) failures++;
        }
        summary.Add(failures == 0 ? "all checks PASS" : $"{failures} check(s) FAIL");
        return failures == 0 ? 0 : 1;
    }

    private static string Load() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
}
