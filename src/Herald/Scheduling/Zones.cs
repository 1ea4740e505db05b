using System.Collections.Concurrent;
using System.Globalization;

namespace Herald.Scheduling;

/// <summary>IANA time zones and the local-to-UTC mapping every schedule uses (one place for the DST rules).</summary>
public static class Zones
{
    private static readonly ConcurrentDictionary<string, TimeZoneInfo?> Cache = new(StringComparer.Ordinal);

    /// <summary>The zone for an IANA id (or "UTC"), or null when unknown.</summary>
    public static TimeZoneInfo? Find(string? id)
    {
        if (string.IsNullOrWhiteSpace(id)) return null;
        return Cache.GetOrAdd(id, static i =>
        {
            try { return TimeZoneInfo.FindSystemTimeZoneById(i); }
            catch (TimeZoneNotFoundException) { return null; }
            catch (InvalidTimeZoneException) { return null; }
        });
    }

    /// <summary>
    /// Maps a wall-clock time in <paramref name="zone"/> to UTC, deliberately for the two DST edge cases:
    /// a time that does not exist (clocks jump forward over it) moves forward to the first valid instant
    /// (the transition itself, e.g. 02:30 -> 03:00 in Europe/Berlin); a time that exists twice (clocks go
    /// back) means its first occurrence (the earlier instant), so a daily 02:30 fires once that night.
    /// </summary>
    public static DateTime ToUtc(DateTime local, TimeZoneInfo zone)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        if (zone.IsInvalidTime(local))
        {
            // Walk forward minute by minute (gaps are at most a few hours) to the first valid wall time,
            // which is exactly the transition instant (transitions fall on whole minutes).
            var t = new DateTime(local.Ticks - local.Ticks % TimeSpan.TicksPerMinute, DateTimeKind.Unspecified);
            while (zone.IsInvalidTime(t)) t = t.AddMinutes(1);
            return TimeZoneInfo.ConvertTimeToUtc(t, zone);
        }
        if (zone.IsAmbiguousTime(local))
        {
            var offsets = zone.GetAmbiguousTimeOffsets(local);
            var first = offsets.Max(); // larger offset = earlier UTC instant = first time the wall clock shows it
            return DateTime.SpecifyKind(local - first, DateTimeKind.Utc);
        }
        return TimeZoneInfo.ConvertTimeToUtc(local, zone);
    }

    public static DateTime ToLocal(DateTime utc, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(utc, DateTimeKind.Utc), zone);

    /// <summary>
    /// Reads an ISO-8601 time: with an offset or Z it is an instant; without, a wall time in <paramref name="zone"/>.
    /// Returns null when it is not a time.
    /// </summary>
    public static DateTime? ParseInstant(string? text, TimeZoneInfo zone)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        if (!DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var dt)) return null;
        return dt.Kind switch
        {
            DateTimeKind.Utc => dt,
            DateTimeKind.Local => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture).UtcDateTime,
            _ => ToUtc(dt, zone),
        };
    }

    /// <summary>Reads an ISO-8601 time as a wall time in <paramref name="zone"/> (an instant is converted to that zone).</summary>
    public static DateTime? ParseLocal(string? text, TimeZoneInfo zone)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        if (!DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var dt)) return null;
        return dt.Kind switch
        {
            DateTimeKind.Utc => ToLocal(dt, zone),
            DateTimeKind.Local => ToLocal(DateTimeOffset.Parse(text, CultureInfo.InvariantCulture).UtcDateTime, zone),
            _ => dt,
        };
    }
}
