using System.Globalization;
using System.Text.Json;
using Herald.Common;

namespace Herald.Delivery;

/// <summary>
/// A campaign's send window: days of the week and a local time range, in an IANA timezone or in each
/// recipient's (<c>"recipient"</c>). Stored as Campaign.SendWindow JSON. Overnight ranges (22:00-06:00) wrap.
/// </summary>
public sealed record SendWindow(IReadOnlySet<DayOfWeek> Days, TimeSpan Start, TimeSpan End, string? Timezone)
{
    public const string RecipientTimezone = "recipient";

    public bool PerRecipient => string.Equals(Timezone, RecipientTimezone, StringComparison.OrdinalIgnoreCase);

    private sealed record Json(List<string>? Days, string? Start, string? End, string? Timezone);

    /// <summary>Reads the stored JSON; null when there is no window.</summary>
    public static SendWindow? Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json) || json.Trim() == "null") return null;
        var j = JsonSerializer.Deserialize<Json>(json, new JsonSerializerOptions(JsonSerializerDefaults.Web)) ?? throw ValidationFailedException.For("sendWindow", "Give days, start and end.");
        var days = new HashSet<DayOfWeek>();
        foreach (var d in j.Days is { Count: > 0 } ? j.Days : ["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
            days.Add(d.Trim().ToLowerInvariant()[..Math.Min(3, d.Trim().Length)] switch
            {
                "mon" => DayOfWeek.Monday, "tue" => DayOfWeek.Tuesday, "wed" => DayOfWeek.Wednesday, "thu" => DayOfWeek.Thursday,
                "fri" => DayOfWeek.Friday, "sat" => DayOfWeek.Saturday, "sun" => DayOfWeek.Sunday,
                _ => throw ValidationFailedException.For("sendWindow.days", $"Unknown day '{d}'."),
            });
        return new SendWindow(days, ParseTime(j.Start ?? "00:00", "start"), ParseTime(j.End ?? "24:00", "end"), j.Timezone);
    }

    private static TimeSpan ParseTime(string s, string field) =>
        s == "24:00" ? TimeSpan.FromDays(1)
        : TimeSpan.TryParseExact(s, @"hh\:mm", CultureInfo.InvariantCulture, out var t) ? t
        : throw ValidationFailedException.For("sendWindow." + field, "Use HH:mm.");

    /// <summary>
    /// The first instant at or after <paramref name="utc"/> inside the window, in UTC: <paramref name="utc"/>
    /// itself when the window is open. Local times skipped by a DST change move to the first valid minute.
    /// </summary>
    public DateTime NextOpening(DateTime utc, TimeZoneInfo zone)
    {
        utc = DateTime.SpecifyKind(utc, DateTimeKind.Utc);
        var local = TimeZoneInfo.ConvertTimeFromUtc(utc, zone);
        var overnight = End <= Start;
        // Yesterday's overnight range may still be open.
        for (var i = overnight ? -1 : 0; i <= 8; i++)
        {
            var day = local.Date.AddDays(i);
            if (!Days.Contains(day.DayOfWeek)) continue;
            var open = day + Start;
            var close = overnight ? day.AddDays(1) + End : day + End;
            if (local >= open && local < close) return utc;
            if (open > local) return ToUtc(open, zone);
        }
        return utc; // no day allowed: never hold a message forever
    }

    private static DateTime ToUtc(DateTime local, TimeZoneInfo zone)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        while (zone.IsInvalidTime(local)) local = local.AddMinutes(1);
        return TimeZoneInfo.ConvertTimeToUtc(local, zone);
    }

    /// <summary>The next local midnight of <paramref name="zone"/> after <paramref name="utc"/>, in UTC (daily limits reset then).</summary>
    public static DateTime NextLocalMidnight(DateTime utc, TimeZoneInfo zone) =>
        ToUtc(TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(utc, DateTimeKind.Utc), zone).Date.AddDays(1), zone);

    public static TimeZoneInfo FindZone(string? id, TimeZoneInfo fallback) =>
        !string.IsNullOrEmpty(id) && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var z) ? z : fallback;
}
