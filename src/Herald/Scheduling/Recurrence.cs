namespace Herald.Scheduling;

/// <summary>
/// "Every <see cref="Interval"/> <see cref="Frequency"/> from <see cref="StartLocal"/> in <see cref="Zone"/>" as a
/// pure function. Slot k (0-based) is computed from the start, never from the previous slot, so errors do
/// not accumulate and month ends come back (the 31st, then the 30th in April, then the 31st again):
/// <list type="bullet">
/// <item>secondly, minutely, hourly: elapsed time (every hour is 60 real minutes, also across a DST change);</item>
/// <item>daily, weekly, monthly: wall-clock time in the zone (09:00 Berlin stays 09:00 local in summer and
/// winter); a monthly day that a month lacks falls on its last day; DST gaps and repeats follow
/// <see cref="Zones.ToUtc"/> (skipped time moves forward to the transition, repeated time fires once, first).</item>
/// </list>
/// </summary>
public sealed record Recurrence(string Frequency, int Interval, DateTime StartLocal, TimeZoneInfo Zone, DateTime? EndUtc, int? MaxOccurrences)
{
    public static readonly string[] Frequencies = ["secondly", "minutely", "hourly", "daily", "weekly", "monthly"];

    public DateTime StartUtc => Zones.ToUtc(StartLocal, Zone);

    private TimeSpan? FixedStep => Frequency switch
    {
        "secondly" => TimeSpan.FromSeconds(Interval),
        "minutely" => TimeSpan.FromMinutes(Interval),
        "hourly" => TimeSpan.FromHours(Interval),
        _ => null,
    };

    /// <summary>The instant of slot <paramref name="k"/> (0-based).</summary>
    public DateTime Slot(long k)
    {
        if (FixedStep is { } step) return StartUtc + step * k;
        var local = Frequency switch
        {
            "daily" => StartLocal.AddDays(k * Interval),
            "weekly" => StartLocal.AddDays(7 * k * Interval),
            "monthly" => StartLocal.AddMonths(checked((int)(k * Interval))), // AddMonths clamps to the month's last day
            _ => throw new InvalidOperationException($"Unknown frequency '{Frequency}'."),
        };
        return Zones.ToUtc(local, Zone);
    }

    /// <summary>
    /// The first slot after <paramref name="afterUtc"/> (at or after when <paramref name="inclusive"/>), or null when the
    /// recurrence has ended: past <see cref="EndUtc"/>, or <paramref name="runsSoFar"/> reached <see cref="MaxOccurrences"/>.
    /// </summary>
    public DateTime? Next(DateTime afterUtc, int runsSoFar, bool inclusive = false)
    {
        if (MaxOccurrences is { } max && runsSoFar >= max) return null;
        var k = EstimateSlot(afterUtc);
        // The estimate is within a step or two; step back until before, then forward to the first that qualifies.
        while (k > 0 && Qualifies(Slot(k - 1), afterUtc, inclusive)) k--;
        while (!Qualifies(Slot(k), afterUtc, inclusive)) k++;
        var next = Slot(k);
        return EndUtc is { } end && next > end ? null : next;
    }

    private static bool Qualifies(DateTime slot, DateTime after, bool inclusive) => inclusive ? slot >= after : slot > after;

    private long EstimateSlot(DateTime afterUtc)
    {
        var start = StartUtc;
        if (afterUtc <= start) return 0;
        var elapsed = afterUtc - start;
        var approx = FixedStep ?? Frequency switch
        {
            "daily" => TimeSpan.FromDays(Interval),
            "weekly" => TimeSpan.FromDays(7 * Interval),
            _ => TimeSpan.FromDays(30.436875 * Interval),
        };
        return Math.Max(0, (long)(elapsed.Ticks / approx.Ticks) - 1);
    }
}
