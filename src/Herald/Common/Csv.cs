namespace Herald.Common;

/// <summary>CSV output shared by every export.</summary>
public static class Csv
{
    /// <summary>Quotes a CSV cell and defuses spreadsheet formulas (a leading = + - @ tab or CR gets a ').</summary>
    public static string Cell(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "";
        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r') value = "'" + value;
        return value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;
    }
}
