namespace Herald.Journeys;

/// <summary>
/// Days-and-hours windows in a timezone (send windows, wait_window steps). Computed on local
/// calendar days so DST shifts keep 09:00 at 09:00 local.
/// </summary>
public static class TimeWindows
{
    /// <summary>
    /// The first instant at or after <paramref name="utcNow"/> inside the window: <paramref name="utcNow"/>
    /// itself when it is inside. A window whose end is before its start runs overnight and belongs to
    /// the day it opens on. Empty <paramref name="days"/> means every day.
    /// </summary>
    public static DateTime NextOpening(DateTime utcNow, IReadOnlyCollection<string>? days, TimeOnly start, TimeOnly end, TimeZoneInfo zone)
    {
        var localNow = TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(utcNow, DateTimeKind.Utc), zone);
        var today = DateOnly.FromDateTime(localNow);
        // Start a day early so an overnight window opened yesterday is seen.
        for (var i = -1; i <= 8; i++)
        {
            var day = today.AddDays(i);
            if (days is { Count: > 0 } && !days.Contains(JourneyValidator.DayNames[(int)day.DayOfWeek])) continue;
            var open = day.ToDateTime(start);
            var close = end > start ? day.ToDateTime(end) : day.AddDays(1).ToDateTime(end);
            if (localNow >= close) continue;
            if (localNow >= open) return utcNow;
            return ToUtc(open, zone);
        }
        return utcNow; // no allowed day at all cannot pass validation; never block a contact forever
    }

    /// <summary>Local wall time to UTC; a time skipped by a DST jump moves forward to the first valid minute.</summary>
    public static DateTime ToUtc(DateTime local, TimeZoneInfo zone)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        for (var guard = 0; zone.IsInvalidTime(local) && guard < 180; guard++) local = local.AddMinutes(1);
        return TimeZoneInfo.ConvertTimeToUtc(local, zone);
    }

    /// <summary>The zone of the first id that is a known IANA zone, else UTC.</summary>
    public static TimeZoneInfo Zone(params string?[] ids)
    {
        foreach (var id in ids)
            if (id is not null && id != "recipient" && JourneyValidator.TryZone(id, out var z)) return z;
        return TimeZoneInfo.Utc;
    }
}
