using System.Globalization;
using System.Text.Json;
using Herald.Common;
using Herald.Dashboard.Pages.Templates;
using Herald.Journeys;

namespace Herald.Dashboard.Pages.Journeys;

/// <summary>Journey definitions in words, and the ISO 8601 durations the editor asks for as a number and a unit.</summary>
public static class JourneyText
{
    public static readonly (string Unit, string Label)[] Units = [("S", "seconds"), ("M", "minutes"), ("H", "hours"), ("D", "days")];

    /// <summary>Splits <c>PT10S</c> / <c>P3D</c> into the largest whole unit (10, "S") / (3, "D").</summary>
    public static (int Amount, string Unit) Split(string? iso)
    {
        if (!JourneyValidator.TryDuration(iso, out var d) || d <= TimeSpan.Zero) return (1, "D");
        if (d.Ticks % TimeSpan.TicksPerDay == 0) return ((int)d.TotalDays, "D");
        if (d.Ticks % TimeSpan.TicksPerHour == 0) return ((int)d.TotalHours, "H");
        if (d.Ticks % TimeSpan.TicksPerMinute == 0) return ((int)d.TotalMinutes, "M");
        return ((int)Math.Max(1, d.TotalSeconds), "S");
    }

    public static string Iso(int amount, string unit) => unit == "D"
        ? $"P{amount.ToString(CultureInfo.InvariantCulture)}D"
        : $"PT{amount.ToString(CultureInfo.InvariantCulture)}{unit}";

    public static string Duration(string? iso)
    {
        if (!JourneyValidator.TryDuration(iso, out _)) return iso ?? "?";
        var (n, unit) = Split(iso);
        var word = Units.First(u => u.Unit == unit).Label;
        return $"{n} {(n == 1 ? word.TrimEnd('s') : word)}";
    }

    public static string Trigger(TriggerDef? t) => t?.Type switch
    {
        TriggerTypes.ContactCreated => "When a contact is created",
        TriggerTypes.Event => $"When a contact has a “{t.EventType}” event",
        TriggerTypes.TagAdded => $"When a contact gets the tag “{t.Tag}”",
        TriggerTypes.SegmentEntered => $"When a contact enters segment {t.SegmentId}",
        TriggerTypes.DateAttribute => $"{Days(t.OffsetDays ?? 0)} the contact's {t.Attribute}, at {t.At ?? "09:00"}",
        null => "No trigger",
        _ => t.Type,
    };

    private static string Days(int offset) => offset switch
    {
        0 => "On",
        > 0 => $"{offset} day{(offset == 1 ? "" : "s")} after",
        _ => $"{-offset} day{(offset == -1 ? "" : "s")} before",
    };

    /// <summary>A step in words; <paramref name="templateName"/> names a template id.</summary>
    public static string Step(StepDef s, Func<string, string?> templateName) => s.Type switch
    {
        StepTypes.Send => s.TemplateId is { } tid
            ? $"Send {ChannelText.Title(s.Channel ?? "")} with template “{templateName(tid) ?? tid}”"
            : $"Send {ChannelText.Title(s.Channel ?? "")} written in the step",
        StepTypes.Wait => $"Wait {Duration(s.Duration)}",
        StepTypes.WaitWindow => $"Wait until {(s.Days is { Count: > 0 } d ? string.Join(", ", d) : "any day")} {s.Start}–{s.End}{(s.Timezone is null ? "" : $" ({s.Timezone})")}",
        StepTypes.Branch when s.On is not null =>
            $"If they {s.On} {s.Step}{(s.Within is null ? "" : $" within {Duration(s.Within)}")}: go to {s.Then ?? "the next step"}, else {s.Else ?? "the next step"}",
        StepTypes.Branch => $"If they match the filter: go to {s.Then ?? "the next step"}, else {s.Else ?? "the next step"}",
        StepTypes.Split => "Split at random: " + string.Join(", ", (s.Branches ?? []).Select(b => $"{b.Weight} → {b.Next ?? "next"}")),
        StepTypes.Exit => "Exit the journey",
        _ => s.Type ?? "?",
    };

    public static TriggerDef ReadTrigger(JsonElement e) => e.Deserialize<TriggerDef>(HeraldJson.Options) ?? new TriggerDef();

    public static List<StepDef> ReadSteps(JsonElement e) => e.Deserialize<List<StepDef>>(HeraldJson.Options) ?? [];
}
