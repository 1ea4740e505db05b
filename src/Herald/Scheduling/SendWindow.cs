using System.Globalization;
using Herald.Common;

namespace Herald.Scheduling;

/// <summary>
/// When a campaign may deliver: days of the week and a daily time range, in an IANA zone or in each
/// recipient's own zone (<c>"recipient"</c>). A delivery outside it waits for <see cref="NextOpening"/>.
/// </summary>
public sealed class SendWindowDefinition
{
    /// <summary>mon..sun; empty or null = every day.</summary>
    public List<string>? Days { get; set; }
    /// <summary>HH:mm local start (inclusive).</summary>
    public string? Start { get; set; }
    /// <summary>HH:mm local end (exclusive). An end before the start spans midnight (22:00-06:00).</summary>
    public string? End { get; set; }
    /// <summary>IANA zone, or <c>recipient</c> for each contact's zone (falling back to the workspace's).</summary>
    public string? Timezone { get; set; }

    public const string Recipient = "recipient";
    private static readonly string[] DayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

    /// <summary>Checks and compiles the window; errors name fields under <paramref name="prefix"/>.</summary>
    public SendWindow? Compile(Validation v, string prefix = "sendWindow")
    {
        var before = v.ToDictionary().Count;
        var days = new bool[7];
        if (Days is not { Count: > 0 }) Array.Fill(days, true);
        else
            foreach (var d in Days)
            {
                var i = Array.IndexOf(DayNames, d?.Trim().ToLowerInvariant() is { Length: >= 3 } s ? s[..3] : "");
                if (i < 0) v.Add($"{prefix}.days", $"Unknown day '{d}': use mon, tue, wed, thu, fri, sat, sun.");
                else days[i] = true;
            }
        var start = ParseTime(Start, $"{prefix}.start", v);
        var end = ParseTime(End, $"{prefix}.end", v);
        if (start is not null && start == end) v.Add($"{prefix}.end", "The window's end must differ from its start.");
        var tz = string.IsNullOrWhiteSpace(Timezone) ? null : Timezone.Trim();
        if (tz is not null && tz != Recipient && Zones.Find(tz) is null)
            v.Add($"{prefix}.timezone", $"Unknown timezone '{tz}': use an IANA name such as Europe/Berlin, or \"recipient\".");
        if (v.ToDictionary().Count > before) return null;
        return new SendWindow(days, start!.Value, end!.Value, tz);
    }

    private static TimeSpan? ParseTime(string? s, string field, Validation v)
    {
        if (s is not null && TimeSpan.TryParseExact(s.Trim(), ["hh\\:mm", "h\\:mm", "hh\\:mm\\:ss"], CultureInfo.InvariantCulture, out var t) && t < TimeSpan.FromDays(1))
            return t;
        v.Add(field, s is null ? "Give the time as HH:mm." : $"'{s}' is not a time of day: use HH:mm such as 09:00.");
        return null;
    }
}

/// <summary>A compiled send window. <see cref="Days"/> is indexed by <see cref="DayOfWeek"/>.</summary>
public sealed record SendWindow(bool[] Days, TimeSpan Start, TimeSpan End, string? Timezone)
{
    public bool PerRecipient => Timezone == SendWindowDefinition.Recipient;

    /// <summary>
    /// The earliest instant at or after <paramref name="instantUtc"/> when the window is open in <paramref name="zone"/>:
    /// the instant itself when it is inside, else the next start on an allowed day. A window spanning midnight
    /// belongs to the day it starts on. An opening time that DST skips opens at the transition.
    /// </summary>
    public DateTime NextOpening(DateTime instantUtc, TimeZoneInfo zone)
    {
        instantUtc = DateTime.SpecifyKind(instantUtc, DateTimeKind.Utc);
        var local = Zones.ToLocal(instantUtc, zone);
        if (IsOpen(local)) return instantUtc;
        for (var d = 0; d <= 8; d++)
        {
            var day = local.Date.AddDays(d);
            if (!Days[(int)day.DayOfWeek]) continue;
            var opening = Zones.ToUtc(day + Start, zone);
            if (opening >= instantUtc) return opening;
        }
        throw new InvalidOperationException("A send window must allow at least one day.");
    }

    /// <summary>Whether the window is open at a wall time.</summary>
    public bool IsOpen(DateTime local)
    {
        var t = local.TimeOfDay;
        if (Start < End) return Days[(int)local.DayOfWeek] && t >= Start && t < End;
        // Overnight: open from Start on an allowed day until End the next morning.
        return (Days[(int)local.DayOfWeek] && t >= Start) || (Days[(int)local.AddDays(-1).DayOfWeek] && t < End);
    }
}
