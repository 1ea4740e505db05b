using System.Buffers;
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
        var swap = new MarkerSwap(_tokens, plan.LinkIds, deliveryId);
        string[]? parameters = null;
        if (m.Parameters is not null)
        {
            parameters = new string[m.Parameters.Count];
            for (var i = 0; i < parameters.Length; i++) parameters[i] = swap.Swap(m.Parameters[i])!;
        }
        return m with { Html = swap.Swap(m.Html), Text = swap.Swap(m.Text), Body = swap.Swap(m.Body), Parameters = parameters };
    }

    /// <summary>One message's markers: each URL signed at its first use and reused by the other parts.</summary>
    private sealed class MarkerSwap(TrackingTokens tokens, long[] linkIds, long deliveryId)
    {
        private readonly string?[] _urls = new string?[linkIds.Length];
        private string? _open;

        public string? Swap(string? s)
        {
            var a = s is null ? -1 : s.IndexOf(LinkRewriter.Mark);
            if (a < 0) return s;
            // Written into one pooled buffer and copied once into the result (an email's HTML is copied per message).
            var buf = ArrayPool<char>.Shared.Rent(s!.Length + 512);
            var n = 0;
            try
            {
                var pos = 0;
                while (true)
                {
                    var b = a < 0 ? -1 : s.IndexOf(LinkRewriter.Mark, a + 1);
                    if (b < 0)
                    {
                        Append(ref buf, ref n, s.AsSpan(pos));
                        return new string(buf, 0, n);
                    }
                    Append(ref buf, ref n, s.AsSpan(pos, a - pos));
                    var key = s.AsSpan(a + 1, b - a - 1);
                    if (key is "o") Append(ref buf, ref n, _open ??= tokens.OpenUrl(deliveryId));
                    else if (int.TryParse(key, out var i) && i >= 0 && i < _urls.Length)
                        Append(ref buf, ref n, _urls[i] ??= tokens.ClickUrl(deliveryId, linkIds[i], linkIds.Length));
                    else Append(ref buf, ref n, s.AsSpan(a, b - a + 1));
                    pos = b + 1;
                    a = s.IndexOf(LinkRewriter.Mark, pos);
                }
            }
            finally
            {
                ArrayPool<char>.Shared.Return(buf);
            }
        }

        private static void Append(ref char[] buf, ref int n, ReadOnlySpan<char> part)
        {
            if (n + part.Length > buf.Length)
            {
                var bigger = ArrayPool<char>.Shared.Rent(Math.Max(buf.Length * 2, n + part.Length));
                buf.AsSpan(0, n).CopyTo(bigger);
                ArrayPool<char>.Shared.Return(buf);
                buf = bigger;
            }
            part.CopyTo(buf.AsSpan(n));
            n += part.Length;
        }
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
