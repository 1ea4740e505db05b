using System.Globalization;
using System.Text.Json;
using Herald.Campaigns;
using Herald.Common;
using Herald.Scheduling;
using MudBlazor;

namespace Herald.Dashboard.Pages.Campaigns;

/// <summary>How the dashboard names campaign states and schedules: chip colours and schedules in words.</summary>
public static class CampaignText
{
    public static readonly string[] Statuses =
    [
        CampaignStatus.Draft, CampaignStatus.PendingApproval, CampaignStatus.Approved, CampaignStatus.Running, CampaignStatus.Paused,
        CampaignStatus.Completed, CampaignStatus.Cancelled, CampaignStatus.Failed,
    ];

    /// <summary>"pending_approval" -> "pending approval".</summary>
    public static string Label(string status) => status.Replace('_', ' ');

    public static Color StatusColor(string status) => status switch
    {
        CampaignStatus.Draft => Color.Default,
        CampaignStatus.PendingApproval => Color.Warning,
        CampaignStatus.Approved => Color.Info,
        CampaignStatus.Running => Color.Primary,
        CampaignStatus.Paused => Color.Warning,
        CampaignStatus.Completed => Color.Success,
        CampaignStatus.Failed => Color.Error,
        _ => Color.Default,
    };

    public static ScheduleDefinition? Schedule(JsonElement stored) =>
        stored.ValueKind == JsonValueKind.Object ? stored.Deserialize<ScheduleDefinition>(HeraldJson.Options) : null;

    /// <summary>
    /// A schedule in words, e.g. "every 2 weeks on Monday at 09:00 Asia/Kolkata" or "once on 2026-12-01 09:00 Asia/Kolkata".
    /// Wall times are the schedule's own (its timezone is named); <paramref name="defaultZone"/> fills a missing one.
    /// </summary>
    public static string Describe(ScheduleDefinition? s, string defaultZone)
    {
        if (s?.Type is not { } type) return "no schedule";
        var zone = string.IsNullOrWhiteSpace(s.Timezone) ? defaultZone : s.Timezone.Trim();
        switch (type.ToLowerInvariant())
        {
            case "now":
                return "as soon as it is approved";
            case "once":
                return Local(s.At) is { } at ? $"once on {at:yyyy-MM-dd HH:mm:ss} {zone}" : "once (time not set)";
            case "cron":
                return $"on the cron schedule \"{s.Expression}\" in {zone}" + Until(s, zone);
            case "recurring":
            {
                var n = s.Interval is > 1 ? s.Interval.Value : 1;
                var start = Local(s.StartAt);
                var unit = (s.Frequency ?? "").ToLowerInvariant() switch
                {
                    "secondly" => "second", "minutely" => "minute", "hourly" => "hour", "daily" => "day", "weekly" => "week", "monthly" => "month",
                    _ => "period",
                };
                var every = n == 1 ? $"every {unit}" : $"every {n} {unit}s";
                var when = start is not { } t ? "" : unit switch
                {
                    "week" => $" on {t.DayOfWeek} at {t:HH:mm}",
                    "month" => $" on day {t.Day} at {t:HH:mm}",
                    "day" => $" at {t:HH:mm}",
                    _ => $" from {t:yyyy-MM-dd HH:mm:ss}",
                };
                var from = start is { } st && unit is "week" or "month" or "day" ? $" {zone}, starting {st:yyyy-MM-dd}" : $" {zone}";
                return every + when + from + Until(s, zone);
            }
            default:
                return type;
        }
    }

    private static string Until(ScheduleDefinition s, string zone)
    {
        var parts = new List<string>();
        if (Local(s.EndAt) is { } end) parts.Add($"until {end:yyyy-MM-dd HH:mm} {zone}");
        if (s.MaxOccurrences is { } max) parts.Add($"at most {max} time{(max == 1 ? "" : "s")}");
        return parts.Count == 0 ? "" : ", " + string.Join(", ", parts);
    }

    private static DateTime? Local(string? text) =>
        DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var t) ? t : null;

    /// <summary>The next few due times of a schedule (UTC), or the validation message that stops it compiling.</summary>
    public static (IReadOnlyList<DateTime> Next, string? Error) NextRuns(ScheduleDefinition s, string defaultZone, DateTime nowUtc, int count)
    {
        var v = new Validation();
        var compiled = s.Compile(defaultZone, nowUtc, v, "schedule", checkPast: false);
        if (compiled is null) return ([], string.Join(" ", v.ToDictionary().SelectMany(e => e.Value)));
        var list = new List<DateTime>();
        var first = compiled.First(nowUtc);
        if (first is not { } f) return (list, null);
        list.Add(f);
        while (list.Count < count && compiled.IsRepeating && compiled.Next(list[^1], list.Count) is { } next) list.Add(next);
        return (list, null);
    }
}
