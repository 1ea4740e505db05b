using Cronos;
using Herald.Common;

namespace Herald.Scheduling;

/// <summary>
/// A campaign schedule as the API writes it (API.md, Campaigns): <c>now</c> | <c>once</c> {at, timezone, allowPast} |
/// <c>recurring</c> {frequency, interval, startAt, timezone, endAt?, maxOccurrences?} | <c>cron</c> {expression,
/// timezone, endAt?}. Times without an offset are wall times in <see cref="Timezone"/> (default: the workspace's).
/// Stored as JSON on the campaign; <see cref="Compile"/> turns it into a <see cref="Schedule"/>.
/// </summary>
public sealed class ScheduleDefinition
{
    public string? Type { get; set; }
    public string? At { get; set; }
    public string? Timezone { get; set; }
    public bool? AllowPast { get; set; }
    public string? Frequency { get; set; }
    public int? Interval { get; set; }
    public string? StartAt { get; set; }
    public string? EndAt { get; set; }
    public int? MaxOccurrences { get; set; }
    public string? Expression { get; set; }

    public static readonly string[] Types = ["now", "once", "recurring", "cron"];

    /// <summary>
    /// Validates and compiles the definition. Errors name the field under <paramref name="prefix"/>
    /// (e.g. <c>schedule.timezone</c>). <paramref name="checkPast"/> rejects a <c>once</c> in the past
    /// unless <see cref="AllowPast"/> is set (creating and rescheduling check it; reading a stored one does not).
    /// </summary>
    public Schedule? Compile(string defaultTimezone, DateTime nowUtc, Validation v, string prefix = "schedule", bool checkPast = true)
    {
        var type = Type?.Trim().ToLowerInvariant();
        if (type is null || !Types.Contains(type))
        {
            v.Add($"{prefix}.type", $"Give the schedule type: one of {string.Join(", ", Types)}.");
            return null;
        }
        if (type == "now") return new Schedule.Now();

        var zoneId = string.IsNullOrWhiteSpace(Timezone) ? defaultTimezone : Timezone.Trim();
        var zone = Zones.Find(zoneId);
        if (zone is null)
        {
            v.Add($"{prefix}.timezone", $"Unknown timezone '{zoneId}': use an IANA name such as Europe/Berlin or Asia/Kolkata.");
            return null;
        }
        var errorsBefore = v.ToDictionary().Count;
        DateTime? endUtc = null;
        if (EndAt is not null)
        {
            endUtc = Zones.ParseInstant(EndAt, zone);
            if (endUtc is null) v.Add($"{prefix}.endAt", "Not a time: use ISO 8601 such as 2026-12-31T23:59:00.");
        }

        switch (type)
        {
            case "once":
            {
                var at = Zones.ParseInstant(At, zone);
                if (at is null)
                {
                    v.Add($"{prefix}.at", At is null ? "Give the time to send (at)." : "Not a time: use ISO 8601 such as 2026-12-01T09:00:00.");
                    return null;
                }
                if (checkPast && AllowPast != true && at.Value < nowUtc)
                    v.Add($"{prefix}.at", $"{At} in {zone.Id} is in the past; set allowPast: true to send at once.");
                return v.ToDictionary().Count > errorsBefore ? null : new Schedule.Once(at.Value, zone);
            }
            case "recurring":
            {
                var freq = Frequency?.Trim().ToLowerInvariant();
                if (freq is null || !Recurrence.Frequencies.Contains(freq))
                    v.Add($"{prefix}.frequency", $"Give the frequency: one of {string.Join(", ", Recurrence.Frequencies)}.");
                var interval = Interval ?? 1;
                if (interval < 1) v.Add($"{prefix}.interval", "The interval must be 1 or more.");
                var start = Zones.ParseLocal(StartAt, zone);
                if (start is null) v.Add($"{prefix}.startAt", StartAt is null ? "Give the first occurrence (startAt)." : "Not a time: use ISO 8601 such as 2026-12-01T09:00:00.");
                if (MaxOccurrences is < 1) v.Add($"{prefix}.maxOccurrences", "maxOccurrences must be 1 or more.");
                if (start is not null && endUtc is not null && endUtc <= Zones.ToUtc(start.Value, zone))
                    v.Add($"{prefix}.endAt", "endAt must be after startAt.");
                if (v.ToDictionary().Count > errorsBefore) return null;
                return new Schedule.Recurring(new Recurrence(freq!, interval, start!.Value, zone, endUtc, MaxOccurrences));
            }
            default: // cron
            {
                CronExpression? cron = null;
                if (string.IsNullOrWhiteSpace(Expression)) v.Add($"{prefix}.expression", "Give the cron expression, e.g. \"0 9 * * MON-FRI\".");
                else
                {
                    var fields = Expression.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
                    try
                    {
                        cron = fields switch
                        {
                            5 => CronExpression.Parse(Expression.Trim(), CronFormat.Standard),
                            6 => CronExpression.Parse(Expression.Trim(), CronFormat.IncludeSeconds),
                            _ => throw new CronFormatException($"A cron expression has 5 fields (minute hour day month weekday) or 6 with seconds first; this one has {fields}."),
                        };
                    }
                    catch (CronFormatException e)
                    {
                        v.Add($"{prefix}.expression", $"Invalid cron expression '{Expression}': {e.Message}");
                    }
                }
                if (endUtc is not null && endUtc <= nowUtc && checkPast) v.Add($"{prefix}.endAt", "endAt is in the past.");
                if (MaxOccurrences is < 1) v.Add($"{prefix}.maxOccurrences", "maxOccurrences must be 1 or more.");
                if (v.ToDictionary().Count > errorsBefore || cron is null) return null;
                return new Schedule.Cron(cron, zone, endUtc, MaxOccurrences);
            }
        }
    }
}

/// <summary>A compiled schedule: pure functions from "now" and the number of runs so far to the next due instant.</summary>
public abstract record Schedule
{
    /// <summary>
    /// The first due instant strictly after <paramref name="afterUtc"/> (or at it when <paramref name="inclusive"/>),
    /// given <paramref name="runsSoFar"/> runs already created; null when the schedule has ended.
    /// </summary>
    public abstract DateTime? Next(DateTime afterUtc, int runsSoFar, bool inclusive = false);

    /// <summary>The instant of the first run (for a one-time schedule its time; for <c>now</c> null = immediately).</summary>
    public abstract DateTime? First(DateTime nowUtc);

    public virtual bool IsRepeating => false;

    public sealed record Now : Schedule
    {
        public override DateTime? Next(DateTime afterUtc, int runsSoFar, bool inclusive = false) => runsSoFar == 0 ? afterUtc : null;
        public override DateTime? First(DateTime nowUtc) => nowUtc;
    }

    public sealed record Once(DateTime AtUtc, TimeZoneInfo Zone) : Schedule
    {
        public override DateTime? Next(DateTime afterUtc, int runsSoFar, bool inclusive = false) => runsSoFar == 0 ? AtUtc : null;
        public override DateTime? First(DateTime nowUtc) => AtUtc;
    }

    public sealed record Recurring(Recurrence Rule) : Schedule
    {
        public override bool IsRepeating => true;
        public override DateTime? Next(DateTime afterUtc, int runsSoFar, bool inclusive = false) => Rule.Next(afterUtc, runsSoFar, inclusive);
        public override DateTime? First(DateTime nowUtc) => Rule.Next(Rule.StartUtc, 0, inclusive: true);
    }

    public sealed record Cron(CronExpression Expression, TimeZoneInfo Zone, DateTime? EndUtc, int? MaxOccurrences) : Schedule
    {
        public override bool IsRepeating => true;

        public override DateTime? Next(DateTime afterUtc, int runsSoFar, bool inclusive = false)
        {
            if (MaxOccurrences is { } max && runsSoFar >= max) return null;
            // Cronos handles DST itself: a skipped time fires at the transition, a repeated one once.
            var next = Expression.GetNextOccurrence(DateTime.SpecifyKind(afterUtc, DateTimeKind.Utc), Zone, inclusive);
            return next is { } n && (EndUtc is null || n <= EndUtc) ? n : null;
        }

        public override DateTime? First(DateTime nowUtc) => Next(nowUtc, 0);
    }
}
