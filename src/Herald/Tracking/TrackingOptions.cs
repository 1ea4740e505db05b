using System.ComponentModel.DataAnnotations;

namespace Herald.Tracking;

/// <summary>Opens, clicks, unsubscribes and conversions, section <c>Herald:Tracking</c>.</summary>
public sealed class TrackingOptions : IValidatableObject
{
    public const string Section = "Herald:Tracking";

    /// <summary>An order counts as a conversion of the last delivery the contact opened or clicked within this time before it. Default: 7 days.</summary>
    public TimeSpan AttributionWindow { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Opens and clicks this soon after the send are machines (security scanners, prefetchers), not people. Default: 5 s.</summary>
    public TimeSpan MachineAfterSend { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Every link of a message (two or more) clicked within this time is a link scanner. Default: 2 s.</summary>
    public TimeSpan ClickBurst { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// User-agent fragments (case-insensitive) of known prefetchers and scanners. An empty user agent and Apple
    /// Mail Privacy Protection's bare <c>Mozilla/5.0</c> count as machines too. Default: see <see cref="DefaultMachineAgents"/>.
    /// </summary>
    public string[] MachineUserAgents { get; set; } = DefaultMachineAgents;

    /// <summary>How often a node looks for A/B tests whose wait is over (at most; it sleeps until the next one is due). Default: 30 s.</summary>
    [Range(0.05, 3600)]
    public double AbTestPollSeconds { get; set; } = 30;

    /// <summary>
    /// While a run is sending, campaign stats are served from a per-node snapshot at most this old (refreshed once per
    /// this time however many readers poll); anything not sending is read fresh. Zero reads fresh every time. Default: 1 s.
    /// </summary>
    public TimeSpan StatsSnapshotMaxAge { get; set; } = TimeSpan.FromSeconds(1);

    public static readonly string[] DefaultMachineAgents =
    [
        "bot", "crawler", "spider", "preview", "scanner", "barracuda", "mimecast", "proofpoint", "safelinks", "symantec", "trendmicro",
        "forcepoint", "python-requests", "python-urllib", "curl/", "wget", "go-http-client", "java/", "okhttp", "headlesschrome",
        "phantomjs", "facebookexternalhit", "linkexpanding",
    ];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (AttributionWindow <= TimeSpan.Zero) yield return new ValidationResult("AttributionWindow must be positive.", [nameof(AttributionWindow)]);
        if (MachineAfterSend < TimeSpan.Zero) yield return new ValidationResult("MachineAfterSend cannot be negative.", [nameof(MachineAfterSend)]);
        if (StatsSnapshotMaxAge < TimeSpan.Zero || StatsSnapshotMaxAge > TimeSpan.FromMinutes(1))
            yield return new ValidationResult("StatsSnapshotMaxAge must be between 0 and 1 minute.", [nameof(StatsSnapshotMaxAge)]);
        if (ClickBurst < TimeSpan.Zero) yield return new ValidationResult("ClickBurst cannot be negative.", [nameof(ClickBurst)]);
    }
}
