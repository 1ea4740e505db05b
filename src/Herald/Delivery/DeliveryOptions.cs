using System.ComponentModel.DataAnnotations;

namespace Herald.Delivery;

/// <summary>Delivery engine settings, section <c>Herald:Delivery</c>.</summary>
public sealed class DeliveryOptions
{
    public const string Section = "Herald:Delivery";

    /// <summary>Worker loops per node (each claims and sends its own batches). Default: 2.</summary>
    [Range(0, 64)]
    public int Workers { get; set; } = 2;

    /// <summary>Deliveries claimed per statement. Default: 500.</summary>
    [Range(1, 20000)]
    public int BatchSize { get; set; } = 500;

    /// <summary>Provider calls in flight per batch (bounded concurrency). Default: 8.</summary>
    [Range(1, 256)]
    public int SendConcurrency { get; set; } = 8;

    /// <summary>How long a claimed batch belongs to its node before another may reclaim it. Default: 60 s.</summary>
    [Range(1, 3600)]
    public int LeaseSeconds { get; set; } = 60;

    /// <summary>Attempts before a transient failure becomes final. Default: 3.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Base of the exponential retry delay (base * 2^(attempt-1) +-10%). Default: 2 s.</summary>
    [Range(0.001, 3600)]
    public double RetryBaseSeconds { get; set; } = 2;

    /// <summary>A run pauses when its failed share of finished sends passes this. Default: 0.5.</summary>
    [Range(0.0, 1.0)]
    public double AutoPauseFailureShare { get; set; } = 0.5;

    /// <summary>Finished sends needed before the failure share is judged. Default: 100.</summary>
    [Range(1, int.MaxValue)]
    public int AutoPauseMinSample { get; set; } = 100;

    /// <summary>Longest idle sleep between claims when nothing is due and no run started. Default: 2 s.</summary>
    [Range(0.01, 60)]
    public double IdleMaxSeconds { get; set; } = 2;

    /// <summary>How often expired leases and cancelled runs are swept. Default: 5 s.</summary>
    [Range(0.05, 600)]
    public double SweepSeconds { get; set; } = 5;

    /// <summary>
    /// Contacts (by id span) materialized per transaction when a run starts on PostgreSQL; the first chunk is a quarter
    /// of this, so the first messages leave while the rest of the audience is still being written. Default: 100,000.
    /// </summary>
    [Range(1, int.MaxValue)]
    public int MaterializeChunk { get; set; } = 100_000;

    /// <summary>Node name used as lease owner. Default: machine name + process id + a random suffix.</summary>
    public string? NodeName { get; set; }
}
