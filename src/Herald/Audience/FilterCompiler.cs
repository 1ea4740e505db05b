using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Herald.Common;

namespace Herald.Audience;

/// <summary>
/// The segment filter language of API.md (Filter): parsed from JSON (tree or shorthand) into
/// <see cref="FilterNode"/>s with every error named by its JSON path, then emitted as a
/// parameterized SQL predicate over <c>contact c</c> for the provider in use. Only whitelisted
/// fields reach SQL; values always travel as parameters.
/// </summary>
public static class FilterCompiler
{
    public const int MaxInValues = 10_000;
    private const int MaxDepth = 32;

    /// <summary>Parses and validates a filter; errors are added to <paramref name="v"/> under <paramref name="path"/>.</summary>
    public static FilterNode? Parse(JsonElement filter, string path, Validation v) => ParseNode(filter, path, v, 0);

    /// <summary>Parses or throws <see cref="ValidationFailedException"/>.</summary>
    public static FilterNode ParseOrThrow(JsonElement filter, string path = "filter")
    {
        var v = new Validation();
        var node = Parse(filter, path, v);
        v.ThrowIfInvalid();
        return node!;
    }

    private static FilterNode? ParseNode(JsonElement e, string path, Validation v, int depth)
    {
        if (depth > MaxDepth) { v.Add(path, $"Filters nest at most {MaxDepth} levels."); return null; }
        if (e.ValueKind != JsonValueKind.Object) { v.Add(path, "A filter is a JSON object."); return null; }
        var props = e.EnumerateObject().ToList();
        if (props.Any(p => p.NameEquals("field"))) return ParseCondition(e, props, path, v);
        if (props.Count == 1 && props[0].Name is "all" or "any" or "not") return ParseLogical(props[0], path, v, depth);
        // Shorthand: key = field, array = in, scalar = eq, object = ops; all keys must hold.
        var parts = new List<FilterNode>();
        foreach (var p in props)
        {
            var at = $"{path}.{p.Name}";
            if (p.Name is "all" or "any" or "not")
            {
                if (ParseLogical(p, path, v, depth) is { } l) parts.Add(l);
                continue;
            }
            var field = FilterFields.Resolve(p.Name, shorthand: true);
            if (field is null) { v.Add(at, $"'{p.Name}' is not a filterable field."); continue; }
            switch (p.Value.ValueKind)
            {
                case JsonValueKind.Array:
                    Add(parts, MakeCondition(field, "in", p.Value, at, at, v));
                    break;
                case JsonValueKind.Object:
                    var ops = p.Value.EnumerateObject().ToList();
                    if (ops.Count == 0) v.Add(at, "Give at least one operator, e.g. {\"gte\": 10}.");
                    foreach (var op in ops) Add(parts, MakeCondition(field, op.Name, op.Value, $"{at}.{op.Name}", $"{at}.{op.Name}", v));
                    break;
                case JsonValueKind.Null:
                    Add(parts, MakeCondition(field, "notExists", default, at, at, v));
                    break;
                default:
                    Add(parts, MakeCondition(field, "eq", p.Value, at, at, v));
                    break;
            }
        }
        if (props.Count == 0) v.Add(path, "An empty filter; use {\"all\": []} to match everyone.");
        return parts.Count == 1 ? parts[0] : new AllNode(parts);

        static void Add(List<FilterNode> list, FilterNode? n)
        {
            if (n is not null) list.Add(n);
        }
    }

    private static FilterNode? ParseLogical(JsonProperty p, string path, Validation v, int depth)
    {
        var at = $"{path}.{p.Name}";
        if (p.Name == "not") return ParseNode(p.Value, at, v, depth + 1) is { } inner ? new NotNode(inner) : null;
        if (p.Value.ValueKind != JsonValueKind.Array) { v.Add(at, $"'{p.Name}' takes an array of filters."); return null; }
        var children = new List<FilterNode>();
        var i = 0;
        foreach (var child in p.Value.EnumerateArray())
        {
            if (ParseNode(child, $"{at}[{i}]", v, depth + 1) is { } n) children.Add(n);
            i++;
        }
        return p.Name == "all" ? new AllNode(children) : new AnyNode(children);
    }

    private static FilterNode? ParseCondition(JsonElement e, List<JsonProperty> props, string path, Validation v)
    {
        foreach (var p in props.Where(p => p.Name is not ("field" or "op" or "value")))
            v.Add($"{path}.{p.Name}", "A condition has only field, op and value.");
        var fieldEl = e.GetProperty("field");
        if (fieldEl.ValueKind != JsonValueKind.String) { v.Add($"{path}.field", "The field is a string."); return null; }
        var field = FilterFields.Resolve(fieldEl.GetString()!, shorthand: false);
        if (field is null) { v.Add($"{path}.field", $"'{fieldEl.GetString()}' is not a filterable field."); return null; }
        if (!e.TryGetProperty("op", out var opEl) || opEl.ValueKind != JsonValueKind.String) { v.Add($"{path}.op", "The op is required (a string)."); return null; }
        e.TryGetProperty("value", out var value);
        return MakeCondition(field, opEl.GetString()!, value, $"{path}.op", $"{path}.value", v);
    }

    private static Condition? MakeCondition(FilterField field, string op, JsonElement value, string opPath, string valuePath, Validation v)
    {
        if (!FilterOps.All.Contains(op)) { v.Add(opPath, $"'{op}' is not an operator. Use one of: {string.Join(", ", FilterOps.All)}."); return null; }
        if (!field.Allows(op)) { v.Add(opPath, $"'{op}' does not apply to {field.Name}."); return null; }
        var error = FilterValues.Check(field, op, value);
        if (error is not null) { v.Add(valuePath, error); return null; }
        return new Condition(field, op, value.ValueKind == JsonValueKind.Undefined ? default : value.Clone());
    }

    /// <summary>Emits the SQL predicate of <paramref name="node"/> (over alias <c>c</c>).</summary>
    public static string Emit(FilterNode node, SqlParams p) => node switch
    {
        AllNode a => a.Children.Count == 0 ? "1=1" : "(" + string.Join(" AND ", a.Children.Select(x => Emit(x, p))) + ")",
        AnyNode a => a.Children.Count == 0 ? "1=0" : "(" + string.Join(" OR ", a.Children.Select(x => Emit(x, p))) + ")",
        // COALESCE: a comparison with NULL (absent value) is unknown, and NOT unknown would drop the row.
        NotNode n => $"NOT COALESCE({Emit(n.Inner, p)}, FALSE)",
        Condition c => ConditionSql.Emit(c, p),
        _ => throw new InvalidOperationException(node.GetType().Name),
    };
}

public abstract record FilterNode;
public sealed record AllNode(List<FilterNode> Children) : FilterNode;
public sealed record AnyNode(List<FilterNode> Children) : FilterNode;
public sealed record NotNode(FilterNode Inner) : FilterNode;
public sealed record Condition(FilterField Field, string Op, JsonElement Value) : FilterNode;

public static class FilterOps
{
    public static readonly string[] All =
        ["eq", "neq", "in", "nin", "gt", "gte", "lt", "lte", "between", "contains", "startsWith", "exists", "notExists", "any", "all", "withinLastDays", "olderThanDays"];
}

public enum FieldKind { Text, Number, Integer, Instant, Days, Tags, Attribute }

/// <summary>A whitelisted filter field and the column it reads.</summary>
public sealed record FilterField(string Name, FieldKind Kind, string Column, string? AttributeKey = null, bool LowerCase = false)
{
    private static readonly HashSet<string> TextOps = ["eq", "neq", "in", "nin", "contains", "startsWith", "exists", "notExists"];
    private static readonly HashSet<string> NumberOps = ["eq", "neq", "in", "nin", "gt", "gte", "lt", "lte", "between", "exists", "notExists"];
    private static readonly HashSet<string> DaysOps = ["eq", "neq", "gt", "gte", "lt", "lte", "between", "exists", "notExists"];
    private static readonly HashSet<string> InstantOps = ["gt", "gte", "lt", "lte", "between", "withinLastDays", "olderThanDays", "exists", "notExists"];
    private static readonly HashSet<string> TagOps = ["any", "all", "in", "nin", "eq", "contains", "exists", "notExists"];
    private static readonly HashSet<string> AttributeOps = [.. FilterOps.All.Except(["any", "all"])];

    public bool Allows(string op) => Kind switch
    {
        FieldKind.Text => TextOps.Contains(op),
        FieldKind.Number or FieldKind.Integer => NumberOps.Contains(op),
        FieldKind.Days => DaysOps.Contains(op),
        FieldKind.Instant => InstantOps.Contains(op),
        FieldKind.Tags => TagOps.Contains(op),
        _ => AttributeOps.Contains(op),
    };
}

public static class FilterFields
{
    public static readonly IReadOnlyDictionary<string, FilterField> BuiltIn = new FilterField[]
    {
        new("externalId", FieldKind.Text, "external_id"),
        new("email", FieldKind.Text, "email", LowerCase: true),
        new("phone", FieldKind.Text, "phone"),
        new("firstName", FieldKind.Text, "first_name"),
        new("lastName", FieldKind.Text, "last_name"),
        new("locale", FieldKind.Text, "locale"),
        new("timezone", FieldKind.Text, "timezone"),
        new("city", FieldKind.Text, "city"),
        new("region", FieldKind.Text, "region"),
        new("country", FieldKind.Text, "country"),
        new("lifecycle", FieldKind.Text, "lifecycle"),
        new("tags", FieldKind.Tags, "tags"),
        new("totalOrders", FieldKind.Integer, "total_orders"),
        new("totalSpent", FieldKind.Number, "total_spent"),
        new("lastOrderAt", FieldKind.Instant, "last_order_at"),
        new("firstOrderAt", FieldKind.Instant, "first_order_at"),
        new("lastOrderDays", FieldKind.Days, "last_order_at"),
        new("engagementScore", FieldKind.Number, "engagement_score"),
        new("rfm.recency", FieldKind.Integer, "rfm_recency"),
        new("rfm.frequency", FieldKind.Integer, "rfm_frequency"),
        new("rfm.monetary", FieldKind.Integer, "rfm_monetary"),
        new("rfm.segment", FieldKind.Text, "rfm_segment"),
        new("createdAt", FieldKind.Instant, "created_at"),
        new("consent.email", FieldKind.Text, "email_consent"),
        new("consent.sms", FieldKind.Text, "sms_consent"),
        new("consent.whatsapp", FieldKind.Text, "whatsapp_consent"),
        new("consent.push", FieldKind.Text, "push_consent"),
    }.ToDictionary(f => f.Name, StringComparer.Ordinal);

    /// <summary>A built-in field, <c>attributes.key</c>, or (shorthand only) any other key read as an attribute.</summary>
    public static FilterField? Resolve(string name, bool shorthand)
    {
        if (BuiltIn.TryGetValue(name, out var f)) return f;
        if (name.StartsWith("attributes.", StringComparison.Ordinal)) return Attribute(name["attributes.".Length..]);
        if (shorthand && !name.Contains('.')) return Attribute(name);
        return null;
    }

    private static FilterField? Attribute(string key) =>
        key.Length is 0 or > 64 || key.Any(ch => ch is '.' or '"' or '\\' || char.IsControl(ch))
            ? null
            : new FilterField("attributes." + key, FieldKind.Attribute, "attributes", key);
}

/// <summary>Checks that a condition's value has the type its field and op need.</summary>
internal static class FilterValues
{
    public static string? Check(FilterField f, string op, JsonElement value)
    {
        var k = value.ValueKind;
        switch (op)
        {
            case "exists" or "notExists":
                return k is JsonValueKind.Undefined or JsonValueKind.Null or JsonValueKind.True ? null : "exists/notExists take no value.";
            case "withinLastDays" or "olderThanDays":
                return k == JsonValueKind.Number && value.TryGetInt32(out var d) && d >= 0 ? null : "Give a whole number of days (0 or more).";
            case "in" or "nin" or "any" or "all":
                if (k != JsonValueKind.Array) return $"'{op}' takes an array.";
                var n = value.GetArrayLength();
                if (n == 0) return "Give at least one value.";
                if (n > FilterCompiler.MaxInValues) return $"At most {FilterCompiler.MaxInValues} values.";
                foreach (var item in value.EnumerateArray())
                    if (Scalar(f, item) is { } e) return e;
                return f.Kind == FieldKind.Attribute && value.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number).Distinct().Count() > 1
                    ? "Use values of one type." : null;
            case "between":
                if (k != JsonValueKind.Array || value.GetArrayLength() != 2) return "'between' takes [from, to].";
                foreach (var item in value.EnumerateArray())
                    if (Ordered(f, item) is { } e2) return e2;
                if (f.Kind == FieldKind.Attribute && value[0].ValueKind != value[1].ValueKind) return "Use values of one type.";
                return null;
            case "gt" or "gte" or "lt" or "lte":
                return Ordered(f, value);
            case "contains" or "startsWith":
                if (f.Kind == FieldKind.Tags) return k == JsonValueKind.String ? null : "Give a tag (a string).";
                return k == JsonValueKind.String && value.GetString()!.Length > 0 ? null : "Give a non-empty string.";
            default: // eq, neq
                return Scalar(f, value);
        }
    }

    private static string? Scalar(FilterField f, JsonElement v) => f.Kind switch
    {
        FieldKind.Text or FieldKind.Tags => v.ValueKind == JsonValueKind.String ? null : $"{f.Name} takes a string.",
        FieldKind.Number => v.ValueKind == JsonValueKind.Number ? null : $"{f.Name} takes a number.",
        FieldKind.Integer or FieldKind.Days => v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out _) ? null : $"{f.Name} takes a whole number.",
        FieldKind.Instant => Instant(v) is null ? $"{f.Name} takes an ISO-8601 date/time." : null,
        _ => v.ValueKind is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False ? null : "Give a string, number or boolean.",
    };

    private static string? Ordered(FilterField f, JsonElement v) => f.Kind switch
    {
        FieldKind.Attribute => v.ValueKind is JsonValueKind.String or JsonValueKind.Number ? null : "Give a number or a string.",
        _ => Scalar(f, v),
    };

    public static DateTime? Instant(JsonElement v) =>
        v.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(v.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t.UtcDateTime : null;
}

/// <summary>Parameters of a SQL fragment being built: named <c>@a0</c>, <c>@a1</c>, ... in order.</summary>
public sealed class SqlParams(bool isPostgres, DateTime now, string prefix = "a")
{
    public bool IsPostgres { get; } = isPostgres;
    /// <summary>The instant relative-day conditions count from.</summary>
    public DateTime Now { get; } = now;
    public List<KeyValuePair<string, object?>> Values { get; } = [];

    public string Add(object? value)
    {
        var name = $"@{prefix}{Values.Count}";
        Values.Add(new(name, value));
        return name;
    }
}

/// <summary>SQL of one condition, per provider. Why each form: see the comments beside them.</summary>
internal static class ConditionSql
{
    public static string Emit(Condition c, SqlParams p) => c.Field.Kind switch
    {
        FieldKind.Tags => Tags(c, p),
        FieldKind.Attribute => p.IsPostgres ? PgAttribute(c, p) : SqliteAttribute(c, p),
        FieldKind.Days => Days(c, p),
        _ => Column(c, p),
    };

    private static string Col(Condition c) => "c." + c.Field.Column;

    private static object? Value(FilterField f, JsonElement v, SqlParams p) => f.Kind switch
    {
        FieldKind.Text or FieldKind.Tags => f.LowerCase || f.Kind == FieldKind.Tags ? v.GetString()!.Trim().ToLowerInvariant() : v.GetString(),
        FieldKind.Integer => p.IsPostgres ? v.GetInt64() : (object)v.GetInt64(),
        // SQLite keeps decimals as REAL (see SqliteHeraldDb); PostgreSQL compares numeric with numeric so the index applies.
        FieldKind.Number => p.IsPostgres ? v.GetDecimal() : v.GetDouble(),
        FieldKind.Instant => FilterValues.Instant(v),
        _ => throw new InvalidOperationException(),
    };

    private static string List(FilterField f, JsonElement arr, SqlParams p, string col)
    {
        if (p.IsPostgres)
        {
            object array = f.Kind switch
            {
                FieldKind.Integer => arr.EnumerateArray().Select(x => x.GetInt64()).ToArray(),
                FieldKind.Number => arr.EnumerateArray().Select(x => x.GetDecimal()).ToArray(),
                _ => arr.EnumerateArray().Select(x => (string)Value(f, x, p)!).ToArray(),
            };
            return $"{col} = ANY({p.Add(array)})";
        }
        var json = new JsonArray(arr.EnumerateArray().Select(x => (JsonNode?)JsonValue.Create(Value(f, x, p))).ToArray());
        return $"{col} IN (SELECT value FROM json_each({p.Add(json.ToJsonString())}))";
    }

    private static string Like(string raw, bool prefixOnly)
    {
        var escaped = raw.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");
        return prefixOnly ? escaped + "%" : "%" + escaped + "%";
    }

    private static string LikeOp(SqlParams p) => p.IsPostgres ? "ILIKE" : "LIKE";
    private static string Escape(SqlParams p) => p.IsPostgres ? "" : " ESCAPE '\\'";

    private static string Column(Condition c, SqlParams p)
    {
        var col = Col(c);
        var v = c.Value;
        switch (c.Op)
        {
            case "exists": return $"{col} IS NOT NULL";
            case "notExists": return $"{col} IS NULL";
            case "eq": return $"{col} = {p.Add(Value(c.Field, v, p))}";
            // A contact with no value is "not equal" too, as a user reads it.
            case "neq": return $"({col} IS NULL OR {col} <> {p.Add(Value(c.Field, v, p))})";
            case "in": return List(c.Field, v, p, col);
            case "nin": return $"({col} IS NULL OR NOT ({List(c.Field, v, p, col)}))";
            case "gt": return $"{col} > {p.Add(Value(c.Field, v, p))}";
            case "gte": return $"{col} >= {p.Add(Value(c.Field, v, p))}";
            case "lt": return $"{col} < {p.Add(Value(c.Field, v, p))}";
            case "lte": return $"{col} <= {p.Add(Value(c.Field, v, p))}";
            case "between": return $"{col} BETWEEN {p.Add(Value(c.Field, v[0], p))} AND {p.Add(Value(c.Field, v[1], p))}";
            case "contains": return $"{col} {LikeOp(p)} {p.Add(Like(v.GetString()!, false))}{Escape(p)}";
            case "startsWith": return $"{col} {LikeOp(p)} {p.Add(Like(v.GetString()!, true))}{Escape(p)}";
            case "withinLastDays": return $"{col} >= {p.Add(p.Now.AddDays(-v.GetInt32()))}";
            case "olderThanDays": return $"{col} < {p.Add(p.Now.AddDays(-v.GetInt32()))}";
        }
        throw new InvalidOperationException(c.Op);
    }

    /// <summary>
    /// lastOrderDays = whole days since the last order (floor). Written as a range on last_order_at
    /// (never as arithmetic on the column) so the (workspace_id, last_order_at) index applies:
    /// days &gt;= n  &lt;=&gt;  last_order_at &lt;= now - n days;  days &lt;= n  &lt;=&gt;  last_order_at &gt; now - (n+1) days.
    /// </summary>
    private static string Days(Condition c, SqlParams p)
    {
        var col = Col(c);
        string AtLeast(long n) => $"{col} <= {p.Add(p.Now.AddDays(-n))}";
        string AtMost(long n) => $"{col} > {p.Add(p.Now.AddDays(-(n + 1)))}";
        var v = c.Value;
        return c.Op switch
        {
            "exists" => $"{col} IS NOT NULL",
            "notExists" => $"{col} IS NULL",
            "eq" => $"({AtLeast(v.GetInt64())} AND {AtMost(v.GetInt64())})",
            "neq" => $"({col} IS NULL OR NOT ({AtLeast(v.GetInt64())} AND {AtMost(v.GetInt64())}))",
            "gte" => AtLeast(v.GetInt64()),
            "gt" => AtLeast(v.GetInt64() + 1),
            "lte" => AtMost(v.GetInt64()),
            "lt" => AtMost(v.GetInt64() - 1),
            "between" => $"({AtLeast(v[0].GetInt64())} AND {AtMost(v[1].GetInt64())})",
            _ => throw new InvalidOperationException(c.Op),
        };
    }

    /// <summary>
    /// Tags: text[] on PostgreSQL (&amp;&amp; and @&gt; use the GIN index), a JSON array on SQLite
    /// (json_each).
    /// </summary>
    private static string Tags(Condition c, SqlParams p)
    {
        var v = c.Value;
        string[] Values() => v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Select(x => x.GetString()!.Trim().ToLowerInvariant()).Distinct().ToArray()
            : [v.GetString()!.Trim().ToLowerInvariant()];
        if (p.IsPostgres)
        {
            return c.Op switch
            {
                "exists" => "cardinality(c.tags) > 0",
                "notExists" => "cardinality(c.tags) = 0",
                "any" or "in" => $"c.tags && {p.Add(Values())}",
                "nin" => $"NOT (c.tags && {p.Add(Values())})",
                "all" or "eq" or "contains" => $"c.tags @> {p.Add(Values())}",
                _ => throw new InvalidOperationException(c.Op),
            };
        }
        string Json() => p.Add(new JsonArray(Values().Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()).ToJsonString());
        string AnyOf() => $"EXISTS (SELECT 1 FROM json_each(c.tags) t WHERE t.value IN (SELECT value FROM json_each({Json()})))";
        return c.Op switch
        {
            "exists" => "json_array_length(c.tags) > 0",
            "notExists" => "json_array_length(c.tags) = 0",
            "any" or "in" => AnyOf(),
            "nin" => "NOT " + AnyOf(),
            "all" or "eq" or "contains" =>
                $"(SELECT COUNT(DISTINCT t.value) FROM json_each(c.tags) t WHERE t.value IN (SELECT value FROM json_each({Json()}))) = {p.Add((long)Values().Length)}",
            _ => throw new InvalidOperationException(c.Op),
        };
    }

    private static object? JsonScalar(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString(),
        JsonValueKind.Number => v.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    private static string IsoText(DateTime t) => t.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>
    /// Attributes on PostgreSQL: equality as jsonb containment (@&gt;, served by the jsonb_path_ops GIN
    /// index); order comparisons cast only values whose jsonb type is number, so one odd value
    /// never fails the whole query. Dates in attributes compare as ISO-8601 text.
    /// </summary>
    private static string PgAttribute(Condition c, SqlParams p)
    {
        var key = c.Field.AttributeKey!;
        var v = c.Value;
        string Doc(JsonElement x) => new JsonObject { [key] = JsonNode.Parse(x.GetRawText()) }.ToJsonString();
        string K() => p.Add(key);
        string Text() => $"(c.attributes->>{K()})";
        string Num() { var k = K(); return $"(CASE WHEN jsonb_typeof(c.attributes->{k}) = 'number' THEN (c.attributes->>{k})::numeric END)"; }
        string Ord(JsonElement x) => x.ValueKind == JsonValueKind.Number ? Num() : Text();
        object OrdValue(JsonElement x) => x.ValueKind == JsonValueKind.Number ? x.GetDecimal() : x.GetString()!;
        switch (c.Op)
        {
            case "exists": return $"COALESCE(jsonb_typeof(c.attributes->{K()}), 'null') <> 'null'";
            case "notExists": return $"COALESCE(jsonb_typeof(c.attributes->{K()}), 'null') = 'null'";
            case "eq": return $"c.attributes @> {p.Add(Doc(v))}::jsonb";
            case "neq": return $"NOT (c.attributes @> {p.Add(Doc(v))}::jsonb)";
            case "in": return $"c.attributes @> ANY({p.Add(v.EnumerateArray().Select(Doc).ToArray())}::jsonb[])";
            case "nin": return $"NOT (c.attributes @> ANY({p.Add(v.EnumerateArray().Select(Doc).ToArray())}::jsonb[]))";
            case "gt": return $"{Ord(v)} > {p.Add(OrdValue(v))}";
            case "gte": return $"{Ord(v)} >= {p.Add(OrdValue(v))}";
            case "lt": return $"{Ord(v)} < {p.Add(OrdValue(v))}";
            case "lte": return $"{Ord(v)} <= {p.Add(OrdValue(v))}";
            case "between": return $"{Ord(v[0])} BETWEEN {p.Add(OrdValue(v[0]))} AND {p.Add(OrdValue(v[1]))}";
            case "contains": return $"{Text()} ILIKE {p.Add(Like(v.GetString()!, false))}";
            case "startsWith": return $"{Text()} ILIKE {p.Add(Like(v.GetString()!, true))}";
            case "withinLastDays": return $"{Text()} >= {p.Add(IsoText(p.Now.AddDays(-v.GetInt32())))}";
            case "olderThanDays": return $"{Text()} < {p.Add(IsoText(p.Now.AddDays(-v.GetInt32())))}";
        }
        throw new InvalidOperationException(c.Op);
    }

    /// <summary>
    /// Attributes on SQLite: json_extract with the path as a parameter. Order comparisons check
    /// json_type first because SQLite orders any text above any number.
    /// </summary>
    private static string SqliteAttribute(Condition c, SqlParams p)
    {
        var path = "$.\"" + c.Field.AttributeKey + "\"";
        var v = c.Value;
        string X() => $"json_extract(c.attributes, {p.Add(path)})";
        string Typed(JsonElement x) => x.ValueKind == JsonValueKind.Number
            ? $"json_type(c.attributes, {p.Add(path)}) IN ('integer', 'real') AND {X()}"
            : $"json_type(c.attributes, {p.Add(path)}) = 'text' AND {X()}";
        string Arr() => p.Add(new JsonArray(v.EnumerateArray().Select(x => JsonNode.Parse(x.GetRawText())).ToArray()).ToJsonString());
        switch (c.Op)
        {
            case "exists": return $"COALESCE(json_type(c.attributes, {p.Add(path)}), 'null') <> 'null'";
            case "notExists": return $"COALESCE(json_type(c.attributes, {p.Add(path)}), 'null') = 'null'";
            case "eq": return $"{X()} = {p.Add(JsonScalar(v))}";
            case "neq": { var x = X(); return $"({x} IS NULL OR {x} <> {p.Add(JsonScalar(v))})"; }
            case "in": return $"{X()} IN (SELECT value FROM json_each({Arr()}))";
            case "nin": { var x = X(); return $"({x} IS NULL OR {x} NOT IN (SELECT value FROM json_each({Arr()})))"; }
            case "gt": return $"({Typed(v)} > {p.Add(JsonScalar(v))})";
            case "gte": return $"({Typed(v)} >= {p.Add(JsonScalar(v))})";
            case "lt": return $"({Typed(v)} < {p.Add(JsonScalar(v))})";
            case "lte": return $"({Typed(v)} <= {p.Add(JsonScalar(v))})";
            case "between": return $"({Typed(v[0])} BETWEEN {p.Add(JsonScalar(v[0]))} AND {p.Add(JsonScalar(v[1]))})";
            case "contains": return $"{X()} LIKE {p.Add(Like(v.GetString()!, false))} ESCAPE '\\'";
            case "startsWith": return $"{X()} LIKE {p.Add(Like(v.GetString()!, true))} ESCAPE '\\'";
            case "withinLastDays": return $"({Typed(default)} >= {p.Add(IsoText(p.Now.AddDays(-v.GetInt32())))})";
            case "olderThanDays": return $"({Typed(default)} < {p.Add(IsoText(p.Now.AddDays(-v.GetInt32())))})";
        }
        throw new InvalidOperationException(c.Op);
    }
}
