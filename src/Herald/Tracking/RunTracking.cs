using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Herald.Campaigns;
using Herald.Channels;
using Herald.Contacts;
using Herald.Delivery;
using Herald.Storage;
using Herald.Templates;
using Microsoft.EntityFrameworkCore;

namespace Herald.Tracking;

/// <summary>
/// The tracking of one run, prepared once per node and run by the delivery engine: per variant and channel, the
/// rewritten content to compile and the stored link ids its markers stand for. Per message it only signs tokens.
/// </summary>
public sealed class RunTracking
{
    private readonly TrackingTokens? _tokens;
    private readonly Dictionary<(string? Variant, string Channel), Plan> _plans;

    private sealed record Plan(ChannelContent Content, long[] LinkIds);

    /// <summary>No tracking (test doubles, nothing to track).</summary>
    public static readonly RunTracking None = new(null, []);

    private RunTracking(TrackingTokens? tokens, Dictionary<(string?, string), Plan> plans)
    {
        _tokens = tokens;
        _plans = plans;
    }

    /// <summary>The content to compile for a variant and channel: with link and pixel markers when tracked.</summary>
    public ChannelContent ContentFor(string? variant, string channel, ChannelContent content) =>
        _plans.TryGetValue((variant, channel), out var p) ? p.Content : content;

    /// <summary>The message's signed unsubscribe URL (template <c>{{ unsubscribeUrl }}</c>, List-Unsubscribe header).</summary>
    public string? UnsubscribeUrl(long deliveryId) => _tokens?.UnsubscribeUrl(deliveryId);

    /// <summary>Swaps the markers of a rendered message for its own open and click URLs.</summary>
    public RenderedMessage Apply(string? variant, string channel, long deliveryId, RenderedMessage m)
    {
        if (_tokens is null || !_plans.TryGetValue((variant, channel), out var plan)) return m;
        var urls = new string?[plan.LinkIds.Length];
        string? open = null;
        string? Swap(string? s)
        {
            if (s is null || s.IndexOf(LinkRewriter.Mark) < 0) return s;
            var sb = new StringBuilder(s.Length + 256);
            var pos = 0;
            while (true)
            {
                var a = s.IndexOf(LinkRewriter.Mark, pos);
                var b = a < 0 ? -1 : s.IndexOf(LinkRewriter.Mark, a + 1);
                if (b < 0)
                {
                    sb.Append(s, pos, s.Length - pos);
                    return sb.ToString();
                }
                sb.Append(s, pos, a - pos);
                var key = s.AsSpan(a + 1, b - a - 1);
                if (key is "o") sb.Append(open ??= _tokens.OpenUrl(deliveryId));
                else if (int.TryParse(key, out var i) && i >= 0 && i < urls.Length)
                    sb.Append(urls[i] ??= _tokens.ClickUrl(deliveryId, plan.LinkIds[i], plan.LinkIds.Length));
                else sb.Append(s, a, b - a + 1);
                pos = b + 1;
            }
        }
        return m with
        {
            Html = Swap(m.Html), Text = Swap(m.Text), Body = Swap(m.Body),
            Parameters = m.Parameters?.Select(p => Swap(p)!).ToArray(),
        };
    }

    /// <summary>Builds a run's tracking from plans already made (see <see cref="LinkTracker"/>).</summary>
    internal static RunTracking Create(TrackingTokens tokens, IEnumerable<((string? Variant, string Channel) Key, ChannelContent Content, long[] LinkIds)> plans) =>
        new(tokens, plans.ToDictionary(p => p.Key, p => new Plan(p.Content, p.LinkIds)));
}

/// <summary>
/// Prepares <see cref="RunTracking"/>: rewrites each variant's content per channel (<see cref="LinkRewriter"/>) and
/// stores its links (<c>tracked_link</c>, one row per campaign and URL) before any message of the run is sent, so
/// every click token names a link that exists.
/// </summary>
public sealed class LinkTracker(HeraldDb db, TrackingTokens tokens, IMessageRenderer renderer, TimeProvider clock)
{
    public async Task<RunTracking> PlanAsync(Campaign campaign, string workspaceName, IReadOnlyDictionary<string, object?>? product,
        IEnumerable<(string? Variant, ChannelContent Content)> contents, CancellationToken ct)
    {
        await tokens.EnsureKeyAsync(ct);
        var settings = Settings(campaign.Tracking);
        var runWide = new RenderScope(new Contact(), workspaceName, campaign.Id, campaign.Name, Product: product);
        string? RenderRunWide(string liquid)
        {
            try { return renderer.Compile(ChannelNames.Sms, new ChannelContent { Sms = new SmsContent { Body = liquid } }).Render(runWide).Body; }
            catch (Exception) { return null; }
        }

        var rewritten = new List<((string?, string) Key, LinkRewriter.Result R)>();
        foreach (var (variant, content) in contents)
            foreach (var channel in campaign.Channels)
                rewritten.Add(((variant, channel), LinkRewriter.Rewrite(channel, content, settings, RenderRunWide)));
        var ids = await StoreAsync(campaign, rewritten.SelectMany(r => r.R.Urls).Distinct().ToList(), ct);
        return RunTracking.Create(tokens, rewritten.Select(r => (r.Key, r.R.Content, r.R.Urls.Select(u => ids[u]).ToArray())));
    }

    public static CampaignTracking Settings(string? json) =>
        string.IsNullOrWhiteSpace(json) ? CampaignTracking.Default : JsonSerializer.Deserialize<CampaignTracking>(json, RunStarter.StoredJson) ?? CampaignTracking.Default;

    public static string Hash(string url) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(url)));

    /// <summary>TrackedLinkUpsert: insert what is new (a unique key per campaign and URL hash), then read the campaign's ids.</summary>
    private async Task<Dictionary<string, long>> StoreAsync(Campaign campaign, List<string> urls, CancellationToken ct)
    {
        if (urls.Count == 0) return [];
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var url in urls)
            await Sql.ExecAsync(db, """
                INSERT INTO tracked_link (workspace_id, campaign_id, url_hash, url, clicks, unique_clicks, created_at)
                VALUES (@ws, @c, @h, @u, 0, 0, @now) ON CONFLICT (campaign_id, url_hash) DO NOTHING
                """, ct, ("ws", campaign.WorkspaceId), ("c", campaign.Id), ("h", Hash(url)), ("u", url), ("now", db.IsPostgres ? now : Sql.SqliteTime(now)));
        var hashes = urls.ToDictionary(u => Hash(u));
        var rows = await db.Set<TrackedLink>().AsNoTracking().Where(l => l.CampaignId == campaign.Id).Select(l => new { l.Id, l.UrlHash }).ToListAsync(ct);
        return rows.Where(r => hashes.ContainsKey(r.UrlHash)).ToDictionary(r => hashes[r.UrlHash], r => r.Id);
    }
}
