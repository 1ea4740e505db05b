using System.ComponentModel.DataAnnotations;

namespace Herald.Scheduling;

/// <summary>Section <c>Herald:Scheduler</c>.</summary>
public sealed class SchedulerOptions
{
    public const string Section = "Herald:Scheduler";

    /// <summary>
    /// Longest sleep without looking at the database (a safety net: wake-ups normally come from the
    /// earliest due time or a signal). Default: 60 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan SafetyRecheck { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>A run starting later than this after its time is a misfire (the server was down): flagged and logged. Default: 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan MisfireThreshold { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Lease of a claimed run while it starts (materializes its audience). The claiming node renews it every third
    /// of this; a run still <c>starting</c> whose lease passed (its node died) is claimed again by any scheduler.
    /// Default: 30 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan StartingLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A run <c>starting</c> without a lease (claimed before leases existed) is claimed again after this.</summary>
    internal static readonly TimeSpan LegacyStartingTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Most runs claimed by one statement. Default: 100.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 100;

    /// <summary>Most runs handed to the run starter at once. Default: 8.</summary>
    [Range(1, 256)]
    public int MaxConcurrentStarts { get; set; } = 8;

    /// <summary>Name recorded on claimed runs. Default: host name and process id.</summary>
    public string? NodeName { get; set; }

    public string Node => NodeName ?? $"{Environment.MachineName}:{Environment.ProcessId}";
}
