using System.Globalization;
using Herald.Campaigns;
using Herald.Channels;
using Herald.Common;
using Herald.Storage;
using Herald.Templates;
using Microsoft.EntityFrameworkCore;

namespace Herald.Assets;

/// <summary>
/// What a campaign's product and media add to its messages, loaded once per run by the delivery engine:
/// <c>product.*</c> for the template scope and the media for WhatsApp header / push image.
/// </summary>
public sealed record CampaignMedia(IReadOnlyDictionary<string, object?>? Product, string? MediaUrl, string? MediaType, string? WhatsAppHeaderType)
{
    public static readonly CampaignMedia None = new(null, null, null, null);

    /// <summary>
    /// Fills the media of a WhatsApp or push message whose content set none. A WhatsApp template gets it only
    /// when its synced header takes media of that type (or nothing was synced: the check ran at submit).
    /// </summary>
    public RenderedMessage ApplyTo(string channel, RenderedMessage m)
    {
        if (MediaUrl is null || !string.IsNullOrEmpty(m.MediaUrl)) return m;
        if (channel == ChannelNames.Push) return m with { MediaUrl = MediaUrl, MediaType = MediaType };
        if (channel != ChannelNames.WhatsApp) return m;
        if (!string.IsNullOrEmpty(m.TemplateName) && WhatsAppHeaderType is { } header && header != MediaType) return m;
        return m with { MediaUrl = MediaUrl, MediaType = MediaType };
    }
}

/// <summary>
/// The campaign side of assets: checks a campaign's productId, mediaId and WhatsApp template against the
/// workspace (called by CampaignService on create, update and submit) and loads a run's product and media.
/// </summary>
public sealed class CampaignAssets(HeraldDb db, MediaService media)
{
    /// <summary>Checks the product, the media and (when the workspace has a synced template list) the WhatsApp template.</summary>
    public async Task ValidateAsync(long workspaceId, IReadOnlyCollection<string> channels, ChannelContent content, long? productId, long? mediaId,
        Validation v, CancellationToken ct)
    {
        Product? product = null;
        if (productId is { } pid)
        {
            product = await db.Set<Product>().AsNoTracking().FirstOrDefaultAsync(p => p.Id == pid && p.WorkspaceId == workspaceId, ct);
            if (product is null) v.Add("productId", $"There is no product {pid} in this workspace.");
        }
        MediaItem? item = null;
        if (mediaId is { } mid)
        {
            item = await db.Set<MediaItem>().AsNoTracking().FirstOrDefaultAsync(m => m.Id == mid && m.WorkspaceId == workspaceId, ct);
            if (item is null) v.Add("mediaId", $"There is no media {mid} in this workspace.");
        }
        if (channels.Contains(ChannelNames.WhatsApp) && content.Whatsapp is { TemplateName: { Length: > 0 } } wa)
            await ValidateTemplateAsync(workspaceId, wa, item, product, v, ct);
    }

    private async Task ValidateTemplateAsync(long workspaceId, WhatsAppContent wa, MediaItem? item, Product? product, Validation v, CancellationToken ct)
    {
        var synced = await db.Set<WhatsAppTemplate>().AsNoTracking().Where(t => t.WorkspaceId == workspaceId && t.Name == wa.TemplateName).ToListAsync(ct);
        // Without a synced list there is nothing to check against (sandbox workspaces, or not synced yet).
        if (synced.Count == 0 && !await db.Set<WhatsAppTemplate>().AnyAsync(t => t.WorkspaceId == workspaceId, ct)) return;
        const string field = "content.whatsapp";
        var name = wa.TemplateName!;
        if (synced.Count == 0)
        {
            v.Add($"{field}.templateName", $"There is no WhatsApp template '{name}' in the synced list. Create it in WhatsApp Manager, then POST /api/v1/channels/whatsapp/templates/sync.");
            return;
        }
        var language = string.IsNullOrWhiteSpace(wa.Language) ? "en_US" : wa.Language.Trim();
        var t = synced.FirstOrDefault(x => x.Language == language);
        if (t is null)
        {
            v.Add($"{field}.language", $"WhatsApp template '{name}' has no '{language}' translation (it has {string.Join(", ", synced.Select(x => x.Language).Order())}).");
            return;
        }
        if (t.Status != "APPROVED")
            v.Add($"{field}.templateName", $"WhatsApp template '{name}' ({language}) is {t.Status}; only APPROVED templates can be sent.");
        var given = wa.Parameters?.Count ?? 0;
        if (given != t.BodyParameterCount)
            v.Add($"{field}.parameters", $"WhatsApp template '{name}' ({language}) takes {t.BodyParameterCount} body parameter{(t.BodyParameterCount == 1 ? "" : "s")}; {given} given.");

        // The media the message will carry: the content's own, else the campaign's media item, else the product image.
        var (mediaType, source) = wa.Media is { Url: { Length: > 0 } } m ? (m.Type ?? MediaKinds.Image, "content.whatsapp.media")
            : item is not null ? (item.Kind, "mediaId")
            : product is not null && (product.ImageUrl is not null || product.MediaId is not null) ? (MediaKinds.Image, "productId")
            : ((string?)null, (string?)null);
        var header = t.HeaderType;
        var wantsMedia = header is MediaKinds.Image or MediaKinds.Video or MediaKinds.Document;
        if (wantsMedia && mediaType is null)
            v.Add($"{field}.media", $"WhatsApp template '{name}' has a {header!.ToUpperInvariant()} header: give its media (mediaId, a productId with an image, or content.whatsapp.media).");
        else if (wantsMedia && mediaType != header)
            v.Add(source == "content.whatsapp.media" ? $"{field}.media" : source!, $"WhatsApp template '{name}' has a {header!.ToUpperInvariant()} header, but the media given is a {mediaType}.");
        // A product image is only used when the header takes it; explicit media on a template without a media header is a mistake.
        else if (!wantsMedia && mediaType is not null && source != "productId")
            v.Add(source == "content.whatsapp.media" ? $"{field}.media" : source!, $"WhatsApp template '{name}' has {(header is null ? "no header" : $"a {header.ToUpperInvariant()} header")}; it takes no media.");
    }

    /// <summary>The run's product scope and media; one or two small queries per run and node.</summary>
    public async Task<CampaignMedia> LoadAsync(Campaign c, ChannelContent content, CancellationToken ct)
    {
        if (c.ProductId is null && c.MediaId is null) return CampaignMedia.None;
        Dictionary<string, object?>? scope = null;
        string? url = null, type = null;
        if (c.ProductId is { } pid && await db.Set<Product>().AsNoTracking().FirstOrDefaultAsync(p => p.Id == pid && p.WorkspaceId == c.WorkspaceId, ct) is { } p)
        {
            var image = p.ImageUrl;
            if (p.MediaId is { } pm && await db.Set<MediaItem>().AsNoTracking().FirstOrDefaultAsync(m => m.Id == pm, ct) is { } pmi) image = media.UrlOf(pmi.Key);
            scope = new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["id"] = p.Id.ToString(CultureInfo.InvariantCulture), ["sku"] = p.Sku, ["name"] = p.Name, ["price"] = p.Price,
                ["currency"] = p.Currency, ["url"] = p.Url, ["imageUrl"] = image,
            };
            if (image is not null) (url, type) = (image, MediaKinds.Image);
        }
        if (c.MediaId is { } mid && await db.Set<MediaItem>().AsNoTracking().FirstOrDefaultAsync(m => m.Id == mid && m.WorkspaceId == c.WorkspaceId, ct) is { } mi)
            (url, type) = (media.UrlOf(mi.Key), mi.Kind);
        string? header = null;
        if (content.Whatsapp is { TemplateName: { Length: > 0 } name } wa)
        {
            var language = string.IsNullOrWhiteSpace(wa.Language) ? "en_US" : wa.Language.Trim();
            header = await db.Set<WhatsAppTemplate>().AsNoTracking()
                .Where(t => t.WorkspaceId == c.WorkspaceId && t.Name == name && t.Language == language).Select(t => t.HeaderType ?? "none").FirstOrDefaultAsync(ct);
        }
        return new CampaignMedia(scope, url, type, header);
    }
}
