using System.Diagnostics.Metrics;

namespace Herald.Hosting;

/// <summary>Herald's own meters, exported at /metrics.</summary>
public sealed class HeraldMetrics
{
    public const string MeterName = "Herald";

    public HeraldMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        MessagesSent = meter.CreateCounter<long>("herald_messages_sent", description: "Messages accepted by a channel provider.");
        MessagesFailed = meter.CreateCounter<long>("herald_messages_failed", description: "Deliveries that failed permanently.");
        RunsStarted = meter.CreateCounter<long>("herald_runs_started", description: "Campaign runs started by the scheduler.");
    }

    public Counter<long> MessagesSent { get; }
    public Counter<long> MessagesFailed { get; }
    public Counter<long> RunsStarted { get; }
}
