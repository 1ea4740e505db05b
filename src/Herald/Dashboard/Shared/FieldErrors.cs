using System.Text.RegularExpressions;

namespace Herald.Dashboard.Shared;

/// <summary>
/// The validation errors of one form, keyed by the API's field paths (<c>email.html</c>,
/// <c>steps[2].duration</c>, <c>settings.url</c>): what a page shows on each field, and the ones no field shows.
/// </summary>
public sealed partial class FieldErrors
{
    private IDictionary<string, string[]> _errors = new Dictionary<string, string[]>();
    private readonly HashSet<string> _shown = new(StringComparer.Ordinal);

    public static readonly FieldErrors None = new();

    public bool Any => _errors.Count > 0;

    public void Set(IDictionary<string, string[]> errors)
    {
        _errors = errors;
        _shown.Clear();
    }

    public void Clear() => Set(new Dictionary<string, string[]>());

    public bool Has(string key) => _errors.ContainsKey(key);

    /// <summary>The messages of <paramref name="key"/>; marks them shown on a field.</summary>
    public string? Err(string key)
    {
        if (!_errors.TryGetValue(key, out var m)) return null;
        _shown.Add(key);
        return string.Join(" ", m);
    }

    /// <summary>Every error under <paramref name="prefix"/> (the key itself and <c>prefix.x</c>, <c>prefix[i]</c>).</summary>
    public IEnumerable<KeyValuePair<string, string[]>> Under(string prefix) =>
        _errors.Where(e => e.Key == prefix || e.Key.StartsWith(prefix + ".", StringComparison.Ordinal) || e.Key.StartsWith(prefix + "[", StringComparison.Ordinal));

    /// <summary>All errors as "Step 2 › duration: message" lines, for a summary at the top of the form.</summary>
    public IEnumerable<string> Lines => _errors.SelectMany(e => e.Value.Select(m => $"{Where(e.Key)}: {m}"));

    /// <summary>
    /// The sentence above a form that was refused: the highlighted fields, plus in words any error that
    /// no field of the form shows (<paramref name="onAField"/> says which keys have a field).
    /// </summary>
    public string Summary(string what, Func<string, bool> onAField)
    {
        var elsewhere = _errors.Where(e => !onAField(e.Key)).SelectMany(e => e.Value.Select(m => $"{Where(e.Key)}: {m}")).ToList();
        var highlighted = _errors.Keys.Any(onAField) ? " Please correct the highlighted fields." : "";
        return $"{what} was not saved.{highlighted}{(elsewhere.Count > 0 ? " " + string.Join(" ", elsewhere) : "")}";
    }

    /// <summary>An error key in words: <c>steps[1].content.sms.body</c> reads "Step 2 › content › sms › body".</summary>
    public static string Where(string key) =>
        StepIndex().Replace(key, m => $"Step {int.Parse(m.Groups[1].Value) + 1}").Replace(".", " › ");

    [GeneratedRegex(@"steps\[(\d+)\]")]
    private static partial Regex StepIndex();

    /// <summary>Line and column of a Liquid syntax error message ("... at line 3, column 7: ..."), if it names them.</summary>
    public static (int Line, int Column)? Position(string? message)
    {
        if (message is null) return null;
        var m = PositionPattern().Match(message);
        return m.Success ? (int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value)) : null;
    }

    [GeneratedRegex(@"line (\d+), column (\d+)")]
    private static partial Regex PositionPattern();
}
