using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Herald.Audience;

namespace Herald.Dashboard.Pages.Segments;

/// <summary>One condition row of the filter builder: field, operator and the value as typed.</summary>
public sealed class FilterCondition
{
    public string Field { get; set; } = "city";
    /// <summary>The key when <see cref="Field"/> is <see cref="FilterModel.AttributeField"/>.</summary>
    public string AttributeKey { get; set; } = "";
    public string Op { get; set; } = "eq";
    public string Value { get; set; } = "";

    public string FieldName => Field == FilterModel.AttributeField ? "attributes." + AttributeKey.Trim() : Field;
}

/// <summary>A group of conditions joined by all (AND) or any (OR), with optional nested groups.</summary>
public sealed class FilterGroup
{
    public string Match { get; set; } = "all";
    public List<FilterCondition> Conditions { get; } = [];
    public List<FilterGroup> Groups { get; } = [];
    public bool IsEmpty => Conditions.Count == 0 && Groups.All(g => g.IsEmpty);
}

/// <summary>
/// Turns the builder's rows into the API's filter tree (API.md, Filter) and back. Values are typed by the
/// field's kind (numbers for totals, arrays for in/any/between), so the server's checks see what a user meant;
/// anything the server still refuses comes back as its validation message.
/// </summary>
public static class FilterModel
{
    public const string AttributeField = "attribute";

    /// <summary>Fields offered in the builder, with a readable name.</summary>
    public static readonly IReadOnlyList<(string Field, string Label)> Fields =
    [
        ("city", "City"), ("region", "Region"), ("country", "Country"), ("tags", "Tags"), ("lifecycle", "Lifecycle"),
        ("totalSpent", "Total spent"), ("totalOrders", "Total orders"), ("lastOrderDays", "Days since last order"),
        ("lastOrderAt", "Last order at"), ("engagementScore", "Engagement score"), ("rfm.segment", "RFM segment"),
        ("email", "Email"), ("phone", "Phone"), ("firstName", "First name"), ("lastName", "Last name"), ("locale", "Locale"),
        ("timezone", "Timezone"), ("externalId", "External id"), ("createdAt", "Created at"),
        ("consent.email", "Email consent"), ("consent.sms", "SMS consent"), ("consent.whatsapp", "WhatsApp consent"),
        (AttributeField, "Attribute…"),
    ];

    public static readonly IReadOnlyDictionary<string, string> OpLabels = new Dictionary<string, string>
    {
        ["eq"] = "equals", ["neq"] = "does not equal", ["in"] = "is one of", ["nin"] = "is none of", ["gt"] = "greater than",
        ["gte"] = "at least", ["lt"] = "less than", ["lte"] = "at most", ["between"] = "between", ["contains"] = "contains",
        ["startsWith"] = "starts with", ["exists"] = "is set", ["notExists"] = "is not set", ["any"] = "has any of",
        ["all"] = "has all of", ["withinLastDays"] = "within the last (days)", ["olderThanDays"] = "older than (days)",
    };

    public static string FieldLabel(string field) => Fields.FirstOrDefault(f => f.Field == field).Label ?? field;

    /// <summary>The operators the field accepts (from the filter compiler's own rules).</summary>
    public static IReadOnlyList<string> OpsFor(FilterCondition c) =>
        FilterFields.Resolve(c.Field == AttributeField ? "attributes.x" : c.Field, shorthand: false) is { } f
            ? FilterOps.All.Where(f.Allows).ToList()
            : FilterOps.All;

    public static bool TakesValue(string op) => op is not ("exists" or "notExists");

    public static string ValueHint(string op) => op switch
    {
        "in" or "nin" or "any" or "all" => "Values, comma-separated",
        "between" => "From, to",
        "withinLastDays" or "olderThanDays" => "Days",
        _ => "Value",
    };

    /// <summary>The filter JSON, or null when the builder has no condition.</summary>
    public static JsonElement? ToJson(FilterGroup g) =>
        g.IsEmpty ? null : JsonSerializer.SerializeToElement(Node(g));

    private static JsonObject Node(FilterGroup g)
    {
        var items = new JsonArray();
        foreach (var c in g.Conditions) items.Add(Node(c));
        foreach (var sub in g.Groups.Where(x => !x.IsEmpty)) items.Add(Node(sub));
        return new JsonObject { [g.Match == "any" ? "any" : "all"] = items };
    }

    private static JsonObject Node(FilterCondition c)
    {
        var o = new JsonObject { ["field"] = c.FieldName, ["op"] = c.Op };
        if (TakesValue(c.Op)) o["value"] = Value(c);
        return o;
    }

    private static JsonNode? Value(FilterCondition c)
    {
        var kind = FilterFields.Resolve(c.FieldName, shorthand: false)?.Kind ?? FieldKind.Text;
        var raw = c.Value.Trim();
        switch (c.Op)
        {
            case "withinLastDays" or "olderThanDays":
                return int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var d) ? JsonValue.Create(d) : JsonValue.Create(raw);
            case "in" or "nin" or "any" or "all" or "between":
                var parts = raw.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                return new JsonArray(parts.Select(p => Scalar(kind, p)).ToArray());
            default:
                return Scalar(kind, raw);
        }
    }

    private static JsonNode? Scalar(FieldKind kind, string raw)
    {
        var number = decimal.TryParse(raw, NumberStyles.Number, CultureInfo.InvariantCulture, out var n);
        return kind switch
        {
            FieldKind.Number or FieldKind.Integer or FieldKind.Days => number ? JsonValue.Create(n) : JsonValue.Create(raw),
            FieldKind.Attribute when raw is "true" or "false" => JsonValue.Create(raw == "true"),
            FieldKind.Attribute when number && !(raw.Length > 1 && raw[0] == '0' && raw[1] != '.') => JsonValue.Create(n),
            _ => JsonValue.Create(raw),
        };
    }

    /// <summary>Reads a stored filter back into the builder; null when it uses a form the builder cannot show (e.g. shorthand or not).</summary>
    public static FilterGroup? FromJson(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object) return null;
        var props = e.EnumerateObject().ToList();
        if (props.Count != 1 || props[0].Name is not ("all" or "any") || props[0].Value.ValueKind != JsonValueKind.Array) return null;
        var g = new FilterGroup { Match = props[0].Name };
        foreach (var item in props[0].Value.EnumerateArray())
        {
            if (item.TryGetProperty("field", out var f) && item.TryGetProperty("op", out var op) && f.ValueKind == JsonValueKind.String)
            {
                var name = f.GetString()!;
                var attr = name.StartsWith("attributes.", StringComparison.Ordinal);
                g.Conditions.Add(new FilterCondition
                {
                    Field = attr ? AttributeField : name, AttributeKey = attr ? name["attributes.".Length..] : "",
                    Op = op.GetString() ?? "eq", Value = item.TryGetProperty("value", out var v) ? Text(v) : "",
                });
            }
            else if (FromJson(item) is { } sub) g.Groups.Add(sub);
            else return null;
        }
        return g;
    }

    private static string Text(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Array => string.Join(", ", v.EnumerateArray().Select(Text)),
        JsonValueKind.String => v.GetString() ?? "",
        JsonValueKind.Null or JsonValueKind.Undefined => "",
        _ => v.GetRawText(),
    };
}
