using System.Text;
using Sylvan.Data.Csv;

namespace Herald.Audience;

/// <summary>One data row of an uploaded file: its line (header = line 1) and its cells by column.</summary>
public readonly record struct ImportRow(long Line, string?[] Cells, string? Malformed);

/// <summary>Reads CSV (delimiter and encoding detected, BOM, quoted fields) and XLSX as header + rows.</summary>
public static class ImportReaders
{
    /// <summary><c>csv</c>, <c>xlsx</c>, or null when the bytes are neither (checked on upload, before any work).</summary>
    public static string? DetectFormat(string fileName, ReadOnlySpan<byte> head)
    {
        var ext = Path.GetExtension(fileName).ToLowerInvariant();
        var isZip = head.Length >= 4 && head[0] == 0x50 && head[1] == 0x4B && head[2] == 0x03 && head[3] == 0x04;
        if (ext == ".xlsx") return isZip ? "xlsx" : null;
        if (isZip) return null;
        if (ext is not (".csv" or ".txt" or ".tsv" or "")) return null;
        // Text: no NUL bytes in the first block (binary files like .xls or images have them).
        return head.Contains((byte)0) && !(head.Length >= 2 && (head[0] == 0xFF || head[0] == 0xFE)) ? null : "csv";
    }

    public static (string[] Headers, IEnumerable<ImportRow> Rows) Open(string path, string format) =>
        format == "xlsx" ? OpenXlsx(path) : OpenCsv(path);

    /// <summary>UTF-8 (with or without BOM) and UTF-16 with BOM; text that is not valid UTF-8 is read as Windows-1252/Latin-1.</summary>
    private static Encoding DetectEncoding(string path)
    {
        var buf = new byte[64 * 1024];
        int n;
        using (var f = File.OpenRead(path)) n = f.Read(buf, 0, buf.Length);
        if (n >= 2 && buf[0] == 0xFF && buf[1] == 0xFE) return Encoding.Unicode;
        if (n >= 2 && buf[0] == 0xFE && buf[1] == 0xFF) return Encoding.BigEndianUnicode;
        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
        try
        {
            // The block may end mid-character: drop up to 3 trailing bytes before judging.
            var len = n;
            while (len > 0 && n - len < 3 && (buf[len - 1] & 0x80) != 0) len--;
            strict.GetCharCount(buf, 0, len);
            return new UTF8Encoding(false);
        }
        catch (DecoderFallbackException)
        {
            return Encoding.Latin1;
        }
    }

    private static (string[], IEnumerable<ImportRow>) OpenCsv(string path)
    {
        var reader = new StreamReader(path, DetectEncoding(path), detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        var csv = CsvDataReader.Create(reader, new CsvDataReaderOptions { HasHeaders = true, MaxBufferSize = 1 << 24, OwnsReader = true });
        var headers = Enumerable.Range(0, csv.FieldCount).Select(i => csv.GetName(i).Trim()).ToArray();
        return (headers, Rows(csv, headers.Length));

        static IEnumerable<ImportRow> Rows(CsvDataReader csv, int width)
        {
            using var _ = csv;
            long line = 1;
            while (csv.Read())
            {
                line++;
                var count = csv.RowFieldCount;
                var cells = new string?[width];
                for (var i = 0; i < width && i < count; i++)
                {
                    var s = csv.GetString(i);
                    cells[i] = s.Length == 0 ? null : s;
                }
                if (count == 1 && cells[0] is null) continue; // blank line
                yield return new ImportRow(line, cells, count != width ? $"Wrong number of columns ({count}, expected {width})." : null);
            }
        }
    }

    private static (string[], IEnumerable<ImportRow>) OpenXlsx(string path)
    {
        var first = MiniExcelLibs.MiniExcel.Query(path, useHeaderRow: false).Cast<IDictionary<string, object?>>().FirstOrDefault();
        if (first is null) return ([], []);
        var letters = first.Keys.ToArray();
        var headers = letters.Select(k => Convert.ToString(first[k], System.Globalization.CultureInfo.InvariantCulture)?.Trim() ?? "").ToArray();
        return (headers, Rows(path, letters));

        static IEnumerable<ImportRow> Rows(string path, string[] letters)
        {
            long line = 0;
            foreach (IDictionary<string, object?> row in MiniExcelLibs.MiniExcel.Query(path, useHeaderRow: false))
            {
                line++;
                if (line == 1) continue;
                var cells = new string?[letters.Length];
                var any = false;
                for (var i = 0; i < letters.Length; i++)
                {
                    var v = row.TryGetValue(letters[i], out var o) ? o : null;
                    var s = v switch
                    {
                        null => null,
                        DateTime d => d.ToString("yyyy-MM-ddTHH:mm:ss", System.Globalization.CultureInfo.InvariantCulture),
                        double d => d.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        _ => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture),
                    };
                    cells[i] = string.IsNullOrEmpty(s) ? null : s;
                    any |= cells[i] is not null;
                }
                if (any) yield return new ImportRow(line, cells, null);
            }
        }
    }
}
