using System.Net;
using System.Text.RegularExpressions;

namespace Herald.Channels.Smtp;

/// <summary>
/// The plain-text alternative of an HTML email when the author wrote none: block elements become
/// line breaks, links keep their target in brackets, everything else is stripped. Not a renderer;
/// it only has to read well in a text-only client and score as a real alternative with spam filters.
/// </summary>
public static partial class HtmlToText
{
    public static string Convert(string html)
    {
        var s = Invisible().Replace(html, "");
        s = Link().Replace(s, m =>
        {
            var label = Tag().Replace(m.Groups["label"].Value, "").Trim();
            var href = m.Groups["href"].Value;
            return label.Length == 0 || label == href ? href : $"{label} ({href})";
        });
        s = LineBreak().Replace(s, "\n");
        s = BlockEnd().Replace(s, "\n\n");
        s = ListItem().Replace(s, "\n- ");
        s = Tag().Replace(s, "");
        s = WebUtility.HtmlDecode(s);
        s = Spaces().Replace(s, " ");
        s = string.Join('\n', s.Split('\n').Select(l => l.Trim()));
        s = BlankLines().Replace(s, "\n\n");
        return s.Trim();
    }

    [GeneratedRegex(@"<(script|style|head|title)\b[^>]*>.*?</\1\s*>|<!--.*?-->", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex Invisible();

    [GeneratedRegex("""<a\b[^>]*?href\s*=\s*["'](?<href>[^"']*)["'][^>]*>(?<label>.*?)</a\s*>""", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex Link();

    [GeneratedRegex(@"<br\s*/?>", RegexOptions.IgnoreCase)]
    private static partial Regex LineBreak();

    [GeneratedRegex(@"</(p|div|h[1-6]|tr|table|blockquote|section|article|header|footer|ul|ol)\s*>", RegexOptions.IgnoreCase)]
    private static partial Regex BlockEnd();

    [GeneratedRegex(@"<li\b[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex ListItem();

    [GeneratedRegex(@"<[^>]+>", RegexOptions.Singleline)]
    private static partial Regex Tag();

    [GeneratedRegex(@"[ \t\r\f\v]+")]
    private static partial Regex Spaces();

    [GeneratedRegex(@"\n{3,}")]
    private static partial Regex BlankLines();
}
