using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Herald.Channels;
using Herald.Common;
using Herald.Templates;

namespace Herald.Journeys;

/// <summary>A journey as written by a client (POST and PUT /api/v1/journeys).</summary>
public sealed class JourneyInput
{
    public string? Name { get; set; }
    public TriggerDef? Trigger { get; set; }
    public List<StepDef>? Steps { get; set; }
    public SendWindowDef? SendWindow { get; set; }
    /// <summary><c>never</c> (default) | <c>after_exit</c> | <c>always</c>.</summary>
    public string? Reentry { get; set; }
    public List<string>? ExitOn { get; set; }
    public bool? TestMode { get; set; }
}

/// <summary>What enrolls a contact. Fields apply by <see cref="Type"/>.</summary>
public sealed class TriggerDef
{
    /// <summary>contact_created | event | tag_added | segment_entered | date_attribute.</summary>
    public string? Type { get; set; }
    /// <summary>event: the event type (e.g. <c>signup</c>).</summary>
    public string? EventType { get; set; }
    /// <summary>event: properties the event must carry (equality per key), optional.</summary>
    public JsonObject? Properties { get; set; }
    /// <summary>tag_added: the tag.</summary>
    public string? Tag { get; set; }
    /// <summary>segment_entered: the segment id.</summary>
    public string? SegmentId { get; set; }
    /// <summary>date_attribute: <c>createdAt</c> or <c>attributes.&lt;key&gt;</c>.</summary>
    public string? Attribute { get; set; }
    /// <summary>date_attribute: days after the date (negative = before). Default 0.</summary>
    public int? OffsetDays { get; set; }
    /// <summary>date_attribute: local time of day (HH:mm) the contact enters. Default 09:00.</summary>
    public string? At { get; set; }
}

/// <summary>One step. Fields apply by <see cref="Type"/>; <see cref="Next"/> defaults to the following step.</summary>
public sealed class StepDef
{
    /// <summary>Unique within the journey; default <c>step&lt;n&gt;</c> (1-based).</summary>
    public string? Id { get; set; }
    /// <summary>send | wait | wait_window | branch | split | exit.</summary>
    public string? Type { get; set; }
    public string? Next { get; set; }
    // send
    public string? Channel { get; set; }
    public ChannelContent? Content { get; set; }
    public string? TemplateId { get; set; }
    public FrequencyCapDef? FrequencyCap { get; set; }
    // wait
    /// <summary>ISO 8601 duration (<c>PT10S</c>, <c>P3D</c>).</summary>
    public string? Duration { get; set; }
    // wait_window
    public List<string>? Days { get; set; }
    public string? Start { get; set; }
    public string? End { get; set; }
    public string? Timezone { get; set; }
    // branch
    /// <summary>A contact filter (API.md Filter); needs the audience feature.</summary>
    public JsonElement? Filter { get; set; }
    /// <summary>opened | clicked | converted (of the send step <see cref="Step"/>, within <see cref="Within"/>).</summary>
    public string? On { get; set; }
    public string? Step { get; set; }
    public string? Within { get; set; }
    /// <summary>converted: the event type that counts as a conversion. Default <c>order</c>.</summary>
    public string? ConversionEvent { get; set; }
    public string? Then { get; set; }
    public string? Else { get; set; }
    // split
    public List<SplitBranchDef>? Branches { get; set; }
}

public sealed class FrequencyCapDef
{
    /// <summary>At most this many messages to the contact (any campaign or journey) ...</summary>
    public int Max { get; set; }
    /// <summary>... within this ISO 8601 period (e.g. <c>P1D</c>).</summary>
    public string? Period { get; set; }
}

public sealed class SplitBranchDef
{
    public int Weight { get; set; }
    public string? Next { get; set; }
}

/// <summary>Days and hours a send (or wait_window) may happen, in the contact's timezone (else this one, else the workspace's).</summary>
public sealed class SendWindowDef
{
    /// <summary>mon..sun; empty = every day.</summary>
    public List<string>? Days { get; set; }
    /// <summary>HH:mm.</summary>
    public string? Start { get; set; }
    /// <summary>HH:mm (exclusive).</summary>
    public string? End { get; set; }
    /// <summary>Fallback IANA timezone when the contact has none; <c>recipient</c> or null = the workspace's.</summary>
    public string? Timezone { get; set; }
}

public static class TriggerTypes
{
    public const string ContactCreated = "contact_created";
    public const string Event = "event";
    public const string TagAdded = "tag_added";
    public const string SegmentEntered = "segment_entered";
    public const string DateAttribute = "date_attribute";
    public static readonly string[] All = [ContactCreated, Event, TagAdded, SegmentEntered, DateAttribute];
}

public static class StepTypes
{
    public const string Send = "send";
    public const string Wait = "wait";
    public const string WaitWindow = "wait_window";
    public const string Branch = "branch";
    public const string Split = "split";
    public const string Exit = "exit";
    public static readonly string[] All = [Send, Wait, WaitWindow, Branch, Split, Exit];
}

/// <summary>A journey version's steps, resolved: ids filled in, successor of each step known.</summary>
public sealed class JourneyPlan
{
    public IReadOnlyList<StepDef> Steps { get; }
    private readonly Dictionary<string, int> _index;

    public JourneyPlan(IReadOnlyList<StepDef> steps)
    {
        Steps = steps;
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < steps.Count; i++) _index.TryAdd(steps[i].Id!, i);
    }

    public static JourneyPlan Parse(string stepsJson) =>
        new(Normalize(JsonSerializer.Deserialize<List<StepDef>>(stepsJson, HeraldJson.Options) ?? []));

    /// <summary>Fills default ids (<c>step1</c>, ...) so every step can be named.</summary>
    public static List<StepDef> Normalize(List<StepDef> steps)
    {
        for (var i = 0; i < steps.Count; i++)
            if (string.IsNullOrWhiteSpace(steps[i].Id)) steps[i].Id = $"step{i + 1}";
        return steps;
    }

    public string? FirstStepId => Steps.Count > 0 ? Steps[0].Id : null;

    public StepDef? Find(string? id) => id is not null && _index.TryGetValue(id, out var i) ? Steps[i] : null;

    public int IndexOf(string id) => _index.TryGetValue(id, out var i) ? i : -1;

    /// <summary>The step after <paramref name="step"/> when it does not branch: its <c>next</c>, else the following one (null = end).</summary>
    public string? DefaultNext(StepDef step)
    {
        if (!string.IsNullOrEmpty(step.Next)) return step.Next;
        var i = IndexOf(step.Id!);
        return i >= 0 && i + 1 < Steps.Count ? Steps[i + 1].Id : null;
    }

    /// <summary>Every step a step may lead to.</summary>
    public IEnumerable<string> Successors(StepDef step) => step.Type switch
    {
        StepTypes.Exit => [],
        StepTypes.Branch => new[] { step.Then ?? DefaultNext(step), step.Else ?? DefaultNext(step) }.OfType<string>(),
        StepTypes.Split => (step.Branches ?? []).Select(b => b.Next ?? DefaultNext(step)).OfType<string>(),
        _ => DefaultNext(step) is { } n ? [n] : [],
    };
}

/// <summary>Checks a journey definition and names the path of every problem (<c>steps[2].then</c>).</summary>
public static class JourneyValidator
{
    public static readonly string[] DayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

    /// <summary>Validates <paramref name="input"/> as a whole (create and replace).</summary>
    /// <param name="audienceAvailable">Whether an <c>IAudienceQuery</c> is registered (segment triggers and filter branches need one).</param>
    public static Validation Validate(JourneyInput input, bool audienceAvailable)
    {
        var v = new Validation();
        if (string.IsNullOrWhiteSpace(input.Name)) v.Add("name", "Give the journey a name.");
        else if (input.Name.Length > 200) v.Add("name", "At most 200 characters.");
        if (input.Reentry is not null && !ReentryPolicy.All.Contains(input.Reentry))
            v.Add("reentry", $"Use one of: {string.Join(", ", ReentryPolicy.All)}.");
        if (input.ExitOn is { } exits)
            for (var i = 0; i < exits.Count; i++)
                if (string.IsNullOrWhiteSpace(exits[i]) || exits[i].Length > 64) v.Add($"exitOn[{i}]", "Give an event type (1 to 64 characters).");
        ValidateTrigger(input.Trigger, v, audienceAvailable);
        if (input.SendWindow is { } w) ValidateWindow(w.Days, w.Start, w.End, w.Timezone, "sendWindow", v, allowRecipient: true);
        ValidateSteps(input.Steps, v, audienceAvailable);
        return v;
    }

    private static void ValidateTrigger(TriggerDef? t, Validation v, bool audienceAvailable)
    {
        if (t is null) { v.Add("trigger", "Give a trigger."); return; }
        switch (t.Type)
        {
            case TriggerTypes.ContactCreated:
                break;
            case TriggerTypes.Event:
                if (string.IsNullOrWhiteSpace(t.EventType)) v.Add("trigger.eventType", "Give the event type that enrolls a contact.");
                break;
            case TriggerTypes.TagAdded:
                if (string.IsNullOrWhiteSpace(t.Tag)) v.Add("trigger.tag", "Give the tag.");
                break;
            case TriggerTypes.SegmentEntered:
                if (!audienceAvailable) v.Add("trigger.type", "segment_entered needs the audience feature, which this server does not have.");
                if (!long.TryParse(t.SegmentId, out _)) v.Add("trigger.segmentId", "Give the segment id.");
                break;
            case TriggerTypes.DateAttribute:
                if (!(t.Attribute == "createdAt" || (t.Attribute is { Length: > 11 } a && a.StartsWith("attributes.", StringComparison.Ordinal))))
                    v.Add("trigger.attribute", "Use createdAt or attributes.<key>.");
                if (t.OffsetDays is < -3660 or > 3660) v.Add("trigger.offsetDays", "Between -3660 and 3660.");
                if (t.At is not null && !TryTime(t.At, out _)) v.Add("trigger.at", "Use HH:mm.");
                break;
            default:
                v.Add("trigger.type", $"Unknown trigger type '{t.Type}'. Use one of: {string.Join(", ", TriggerTypes.All)}.");
                break;
        }
    }

    private static void ValidateSteps(List<StepDef>? steps, Validation v, bool audienceAvailable)
    {
        if (steps is not { Count: > 0 }) { v.Add("steps", "Give at least one step."); return; }
        if (steps.Count > 200) { v.Add("steps", "At most 200 steps."); return; }
        if (steps.Any(s => s is null)) { v.Add("steps", "A step cannot be null."); return; }
        JourneyPlan.Normalize(steps);
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < steps.Count; i++)
        {
            var id = steps[i].Id!;
            if (id.Length > 64) v.Add($"steps[{i}].id", "At most 64 characters.");
            if (!ids.TryAdd(id, i)) v.Add($"steps[{i}].id", $"The id '{id}' is already used by steps[{ids[id]}].");
        }
        var plan = new JourneyPlan(steps);
        void Ref(string path, string? target)
        {
            if (target is not null && plan.Find(target) is null) v.Add(path, $"No step has the id '{target}'.");
        }
        for (var i = 0; i < steps.Count; i++)
        {
            var s = steps[i];
            var p = $"steps[{i}]";
            Ref($"{p}.next", s.Next);
            switch (s.Type)
            {
                case StepTypes.Send:
                    if (!ChannelNames.IsKnown(s.Channel)) v.Add($"{p}.channel", $"Use one of: {string.Join(", ", ChannelNames.All)}.");
                    else if (s.TemplateId is null && !HasContent(s.Content, s.Channel!)) v.Add($"{p}.content", $"Give content for {s.Channel} or a templateId.");
                    if (s.TemplateId is not null && !long.TryParse(s.TemplateId, out _)) v.Add($"{p}.templateId", "Not a template id.");
                    if (s.FrequencyCap is { } cap)
                    {
                        if (cap.Max < 1) v.Add($"{p}.frequencyCap.max", "At least 1.");
                        if (!TryDuration(cap.Period, out _)) v.Add($"{p}.frequencyCap.period", "Give an ISO 8601 duration such as P1D.");
                    }
                    break;
                case StepTypes.Wait:
                    if (!TryDuration(s.Duration, out var d) || d <= TimeSpan.Zero) v.Add($"{p}.duration", "Give a positive ISO 8601 duration such as PT10S or P3D.");
                    break;
                case StepTypes.WaitWindow:
                    ValidateWindow(s.Days, s.Start, s.End, s.Timezone, p, v, allowRecipient: true);
                    break;
                case StepTypes.Branch:
                    Ref($"{p}.then", s.Then);
                    Ref($"{p}.else", s.Else);
                    if (s.Then is null && s.Else is null) v.Add($"{p}.then", "A branch needs then and/or else.");
                    if (s.Filter is { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) } == (s.On is not null))
                        v.Add(p, "A branch tests either a filter or on (opened | clicked | converted) of an earlier step.");
                    if (s.Filter is { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) } && !audienceAvailable)
                        v.Add($"{p}.filter", "Filter branches need the audience feature, which this server does not have.");
                    if (s.On is not null)
                    {
                        if (s.On is not ("opened" or "clicked" or "converted")) v.Add($"{p}.on", "Use opened, clicked or converted.");
                        var target = plan.Find(s.Step);
                        if (target is null) v.Add($"{p}.step", $"No step has the id '{s.Step}'.");
                        else if (target.Type != StepTypes.Send) v.Add($"{p}.step", $"'{s.Step}' is not a send step.");
                        else if (plan.IndexOf(target.Id!) >= i) v.Add($"{p}.step", $"'{s.Step}' must come before the branch.");
                        if (s.Within is not null && !TryDuration(s.Within, out _)) v.Add($"{p}.within", "Give an ISO 8601 duration such as P2D.");
                    }
                    break;
                case StepTypes.Split:
                    if (s.Branches is not { Count: > 0 }) { v.Add($"{p}.branches", "Give at least one branch."); break; }
                    for (var b = 0; b < s.Branches.Count; b++)
                    {
                        if (s.Branches[b].Weight < 1) v.Add($"{p}.branches[{b}].weight", "At least 1.");
                        Ref($"{p}.branches[{b}].next", s.Branches[b].Next);
                    }
                    break;
                case StepTypes.Exit:
                    break;
                default:
                    v.Add($"{p}.type", $"Unknown step type '{s.Type}'. Use one of: {string.Join(", ", StepTypes.All)}.");
                    break;
            }
        }
        if (!v.IsValid) return;
        CheckGraph(plan, v);
    }

    /// <summary>Every step reachable from the first; every cycle passes through a wait (else a contact would loop forever in one instant).</summary>
    private static void CheckGraph(JourneyPlan plan, Validation v)
    {
        var reached = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>([plan.FirstStepId!]);
        while (stack.TryPop(out var id))
            if (reached.Add(id))
                foreach (var n in plan.Successors(plan.Find(id)!)) stack.Push(n);
        for (var i = 0; i < plan.Steps.Count; i++)
            if (!reached.Contains(plan.Steps[i].Id!)) v.Add($"steps[{i}]", $"Step '{plan.Steps[i].Id}' is unreachable from the first step.");

        // Cycles among non-wait steps: depth-first search with colors over the graph without waits.
        var color = new Dictionary<string, int>(StringComparer.Ordinal);
        bool IsWait(StepDef s) => s.Type is StepTypes.Wait or StepTypes.WaitWindow;
        string? Dfs(string id)
        {
            color[id] = 1;
            var step = plan.Find(id)!;
            if (!IsWait(step))
                foreach (var n in plan.Successors(step))
                {
                    if (IsWait(plan.Find(n)!)) continue;
                    var c = color.GetValueOrDefault(n);
                    if (c == 1) return n;
                    if (c == 0 && Dfs(n) is { } found) return found;
                }
            color[id] = 2;
            return null;
        }
        foreach (var s in plan.Steps)
            if (color.GetValueOrDefault(s.Id!) == 0 && Dfs(s.Id!) is { } loop)
            {
                v.Add($"steps[{plan.IndexOf(loop)}]", $"Step '{loop}' is part of a loop without a wait step.");
                return;
            }
    }

    private static bool HasContent(ChannelContent? c, string channel) => channel switch
    {
        ChannelNames.Email => c?.Email is { } e && (e.Html is not null || e.Text is not null),
        ChannelNames.Sms => c?.Sms?.Body is { Length: > 0 },
        ChannelNames.WhatsApp => c?.Whatsapp is { } w && (w.TemplateName is not null || w.Text is not null),
        ChannelNames.Push => c?.Push?.Title is not null || c?.Push?.Body is not null,
        ChannelNames.Webhook => c?.Webhook?.Url is not null,
        _ => false,
    };

    private static void ValidateWindow(List<string>? days, string? start, string? end, string? tz, string path, Validation v, bool allowRecipient)
    {
        if (days is not null)
            for (var i = 0; i < days.Count; i++)
                if (!DayNames.Contains(days[i])) v.Add($"{path}.days[{i}]", "Use mon, tue, wed, thu, fri, sat or sun.");
        if (!TryTime(start, out var s)) v.Add($"{path}.start", "Use HH:mm.");
        if (!TryTime(end, out var e)) v.Add($"{path}.end", "Use HH:mm.");
        else if (s == e) v.Add($"{path}.end", "The window must not be empty.");
        if (tz is not null && !(allowRecipient && tz == "recipient") && !TryZone(tz, out _)) v.Add($"{path}.timezone", $"Unknown timezone '{tz}'.");
    }

    public static bool TryTime(string? s, out TimeOnly t) =>
        TimeOnly.TryParseExact(s ?? "", "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out t);

    /// <summary>ISO 8601 durations via <see cref="System.Xml.XmlConvert.ToTimeSpan"/> (years and months are not fixed lengths and are refused).</summary>
    public static bool TryDuration(string? s, out TimeSpan d)
    {
        d = default;
        if (string.IsNullOrWhiteSpace(s)) return false;
        var datePart = s.Split('T')[0];
        if (datePart.Contains('Y') || datePart.Contains('M')) return false;
        try { d = System.Xml.XmlConvert.ToTimeSpan(s); return true; }
        catch (FormatException) { return false; }
        catch (OverflowException) { return false; }
    }

    public static bool TryZone(string? id, out TimeZoneInfo zone)
    {
        zone = TimeZoneInfo.Utc;
        if (string.IsNullOrWhiteSpace(id)) return false;
        try { zone = TimeZoneInfo.FindSystemTimeZoneById(id); return true; }
        catch (TimeZoneNotFoundException) { return false; }
        catch (InvalidTimeZoneException) { return false; }
    }
}
