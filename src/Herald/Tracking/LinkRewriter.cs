using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Herald.Channels;
using Herald.Templates;

namespace Herald.Tracking;

/// <summary>
/// Rewrites a content's source (Liquid, before it is compiled) once per run: every trackable link becomes a
/// marker <c>\u0001N\u0001</c> (N = its index in <see cref="Result.Urls"/>) and email HTML gets the open pixel
/// marker <c>\u0001o\u0001</c>. Markers are literal template text, so they come out of the renderer untouched and
/// each message only swaps them for its own signed URLs (<see cref="RunTracking.Apply"/>): no HTML is parsed per message.
/// </summary>
/// <remarks>
/// A link is tracked when its address is known for the whole run: a literal http(s) URL, or Liquid that reads only
/// run-wide values (<c>campaign.*</c>, <c>workspace.*</c>, <c>product.*</c>, <c>companyName</c>), rendered once here.
/// Links built from contact data or loop variables, <c>mailto:</c>/<c>tel:</c>/anchors, the unsubscribe link and
/// links marked <c>data-notrack</c> are left as written (they work, they are not counted).
/// </remarks>
public static partial class LinkRewriter
{
    public const char Mark = '\u0001';
    public const string PixelMarker = "\u0001o\u0001";

    public sealed record Result(ChannelContent Content, IReadOnlyList<string> Urls, bool Pixel);

    /// <param name="renderRunWide">Renders a Liquid snippet with the run's campaign/workspace/product (no contact).</param>
    public static Result Rewrite(string channel, ChannelContent content, CampaignTracking settings, Func<string, string?> renderRunWide)
    {
        var urls = new List<string>();
        var pixel = false;
        ChannelContent result;
        switch (channel)
        {
            case ChannelNames.Email when content.Email is { } e:
                var html = e.Html;
                if (html is not null && settings.Clicks) html = RewriteHtml(html, urls, renderRunWide);
                if (html is not null && settings.Opens)
                {
                    html = AddPixel(html);
                    pixel = true;
                }
                var text = e.Text is not null && settings.Clicks ? RewriteText(e.Text, urls) : e.Text;
                result = Copy(content, email: new EmailContent { Subject = e.Subject, Html = html, Text = text });
                break;
            case ChannelNames.Sms when content.Sms is { } s && settings.TextLinks:
                result = Copy(content, sms: new SmsContent { Body = s.Body is null ? null : RewriteText(s.Body, urls) });
                break;
            case ChannelNames.WhatsApp when content.Whatsapp is { } w && settings.TextLinks:
                result = Copy(content, whatsapp: new WhatsAppContent
                {
                    TemplateName = w.TemplateName, Language = w.Language, Media = w.Media,
                    Parameters = w.Parameters?.Select(p => p is null ? p! : RewriteText(p, urls)).ToList(),
                    Text = w.Text is null ? null : RewriteText(w.Text, urls),
                });
                break;
            default:
                result = content;
                break;
        }
        return new Result(result, urls, pixel);
    }

    private static ChannelContent Copy(ChannelContent c, EmailContent? email = null, SmsContent? sms = null, WhatsAppContent? whatsapp = null) => new()
    {
        Email = email ?? c.Email, Sms = sms ?? c.Sms, Whatsapp = whatsapp ?? c.Whatsapp, Push = c.Push, Webhook = c.Webhook,
    };

    private static string Marker(List<string> urls, string url)
    {
        var i = urls.IndexOf(url);
        if (i < 0)
        {
            i = urls.Count;
            urls.Add(url);
        }
        return $"{Mark}{i}{Mark}";
    }

    private static string RewriteHtml(string html, List<string> urls, Func<string, string?> renderRunWide) =>
        AnchorTag().Replace(html, tag =>
        {
            if (NoTrack().IsMatch(tag.Value)) return tag.Value;
            return Href().Replace(tag.Value, m =>
            {
                var url = TrackableHref(m.Groups["v"].Value, renderRunWide);
                return url is null ? m.Value : $"{m.Groups["pre"].Value}{m.Groups["q"].Value}{Marker(urls, url)}{m.Groups["q"].Value}";
            }, 1);
        });

    /// <summary>The address a href's source sends every recipient to, or null when it is not trackable.</summary>
    internal static string? TrackableHref(string source, Func<string, string?> renderRunWide)
    {
        var raw = source.Trim();
        if (raw.Length == 0 || raw.Contains("{%", StringComparison.Ordinal)) return null;
        string url;
        if (raw.Contains("{{", StringComparison.Ordinal))
        {
            if (!RunWideLiquid().IsMatch(raw)) return null;
            // Literal parts are HTML text (&amp;), values render raw: decode the whole once, as a browser would.
            var rendered = renderRunWide(raw);
            if (rendered is null) return null;
            url = WebUtility.HtmlDecode(rendered).Trim();
        }
        else url = WebUtility.HtmlDecode(raw);
        return IsWebUrl(url) ? url : null;
    }

    private static bool IsWebUrl(string url) =>
        url.Length <= 8000 && Uri.TryCreate(url, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps)
        && !string.IsNullOrEmpty(u.Host);

    /// <summary>Appends the open pixel just before &lt;/body&gt; (or at the end).</summary>
    private static string AddPixel(string html)
    {
        const string img = $"<img src=\"{PixelMarker}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;border:0;width:1px;height:1px\" />";
        var at = html.LastIndexOf("</body", StringComparison.OrdinalIgnoreCase);
        return at < 0 ? html + img : html.Insert(at, img);
    }

    /// <summary>Plain text: literal http(s) URLs outside Liquid, not glued to a Liquid value, become markers.</summary>
    private static string RewriteText(string source, List<string> urls)
    {
        var sb = new StringBuilder(source.Length);
        var last = 0;
        foreach (Match liquid in LiquidSpan().Matches(source))
        {
            RewriteLiteral(source, last, liquid.Index, urls, sb, gluedToLiquid: true);
            sb.Append(liquid.Value);
            last = liquid.Index + liquid.Length;
        }
        RewriteLiteral(source, last, source.Length, urls, sb, gluedToLiquid: false);
        return sb.ToString();
    }

    private static void RewriteLiteral(string source, int start, int end, List<string> urls, StringBuilder sb, bool gluedToLiquid)
    {
        var literal = source[start..end];
        var pos = 0;
        foreach (Match m in TextUrl().Matches(literal))
        {
            var url = m.Value.TrimEnd('.', ',', ';', ':', '!', '?', ')', ']', '\'', '"');
            // A URL running into the next {{ ... }} is completed per contact: leave it alone.
            var endsLiteral = m.Index + m.Length == literal.Length && gluedToLiquid;
            sb.Append(literal, pos, m.Index - pos);
            sb.Append(endsLiteral || !IsWebUrl(url) ? url : Marker(urls, url));
            pos = m.Index + url.Length;
        }
        sb.Append(literal, pos, literal.Length - pos);
    }

    [GeneratedRegex("""<(?:a|area)\b(?:[^>"']|"[^"]*"|'[^']*')*>""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex AnchorTag();

    [GeneratedRegex("""(?<pre>\shref\s*=\s*)(?<q>["'])(?<v>.*?)\k<q>""", RegexOptions.IgnoreCase | RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex Href();

    [GeneratedRegex(@"\sdata-notrack\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex NoTrack();

    /// <summary>Only {{ campaign.x }}, {{ workspace.x }}, {{ product.x }}, {{ companyName }} outputs, with filters taking literal arguments.</summary>
    [GeneratedRegex("""^(?:[^{}]|\{\{\s*(?:campaign|workspace|product)(?:\.[A-Za-z0-9_]+)+\s*(?:\|\s*[a-z_]+\s*(?::\s*(?:"[^"{}]*"|'[^'{}]*'|-?\d+(?:\.\d+)?)(?:\s*,\s*(?:"[^"{}]*"|'[^'{}]*'|-?\d+(?:\.\d+)?))*)?\s*)*\}\}|\{\{\s*companyName\s*\}\})*$""", RegexOptions.CultureInvariant)]
    private static partial Regex RunWideLiquid();

    [GeneratedRegex(@"\{\{.*?\}\}|\{%.*?%\}", RegexOptions.Singleline)]
    private static partial Regex LiquidSpan();

    [GeneratedRegex(@"https?://[^\s<>""'`]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TextUrl();
}

/// <summary>A campaign's tracking switches (<c>tracking</c> in the API; all optional).</summary>
public sealed class CampaignTracking
{
    /// <summary>Open pixel in email HTML. Default: true.</summary>
    public bool Opens { get; set; } = true;
    /// <summary>Email links (HTML and text part) go through /t/c. Default: true.</summary>
    public bool Clicks { get; set; } = true;
    /// <summary>Links in SMS and WhatsApp text go through /t/c too. Default: false (they lengthen the message).</summary>
    public bool TextLinks { get; set; }

    public static readonly CampaignTracking Default = new();
}

/// <summary><c>tracking</c> in a campaign body: each switch optional (absent or null keeps the current value).</summary>
public sealed class TrackingInput
{
    public bool? Opens { get; set; }
    public bool? Clicks { get; set; }
    public bool? TextLinks { get; set; }

    /// <summary>The switches after applying this input to <paramref name="current"/>.</summary>
    public CampaignTracking ApplyTo(CampaignTracking current) => new()
    {
        Opens = Opens ?? current.Opens, Clicks = Clicks ?? current.Clicks, TextLinks = TextLinks ?? current.TextLinks,
    };
}
