using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Herald.Audit;
using Herald.Auth;
using Herald.Channels;
using Herald.Channels.WhatsApp;
using Herald.Common;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;

namespace Herald.Assets;

public sealed record WhatsAppTemplateDto(string Name, string Language, string Status, string? Category, int ParameterCount, string? HeaderType, DateTime SyncedAt)
{
    public static WhatsAppTemplateDto From(WhatsAppTemplate t) => new(t.Name, t.Language, t.Status, t.Category, t.BodyParameterCount, t.HeaderType, t.SyncedAt);
}

public sealed record WhatsAppSyncResult(string ChannelId, int Synced, int Removed, int Pages, IReadOnlyList<WhatsAppTemplateDto> Templates);

/// <summary>The Cloud API answered an error or something that is not its template list; answered 502 with Meta's message.</summary>
public sealed class UpstreamException(string message) : Exception(message);

/// <summary>
/// Fetches a WABA's message templates (<c>GET /{version}/{waba-id}/message_templates</c>, following the
/// <c>after</c> cursor while <c>paging.next</c> is present) and replaces the workspace's synced list with them.
/// The next page is requested from the configured base URL with the cursor, not from <c>paging.next</c>
/// itself, so the access token only ever goes to the configured host.
/// </summary>
public sealed partial class WhatsAppTemplateSync(HeraldDb db, ChannelSecrets secrets, IHttpClientFactory http, AuditLog audit, TimeProvider clock)
{
    /// <summary>Safety stop against a paging loop; 100 pages of 100 is far above WhatsApp's template limit.</summary>
    public const int MaxPages = 100;

    public async Task<WhatsAppSyncResult> SyncAsync(Caller caller, long? channelId, CancellationToken ct)
    {
        var configs = db.Set<ChannelConfig>().AsNoTracking()
            .Where(c => c.WorkspaceId == caller.WorkspaceId && c.Channel == ChannelNames.WhatsApp && c.Provider == WhatsAppChannel.ProviderName);
        var config = channelId is { } id
            ? await configs.FirstOrDefaultAsync(c => c.Id == id, ct) ?? throw ValidationFailedException.For("channelId", $"Channel {id} is not a WhatsApp Cloud API channel of this workspace.")
            : await configs.OrderByDescending(c => c.IsDefault).ThenBy(c => c.Id).FirstOrDefaultAsync(ct)
              ?? throw ValidationFailedException.For("channel", "Configure a WhatsApp channel (provider whatsapp) first: POST /api/v1/channels.");
        var settings = ProviderSettings.Read<WhatsAppSettings>(secrets.Unprotect(config.ProtectedSettings));
        var fetched = await FetchAsync(settings, ct);

        var now = clock.GetUtcNow().UtcDateTime;
        var existing = await db.Set<WhatsAppTemplate>().Where(t => t.WorkspaceId == caller.WorkspaceId).ToListAsync(ct);
        var byKey = existing.ToDictionary(t => (t.Name, t.Language));
        var seen = new HashSet<(string, string)>();
        foreach (var f in fetched.Templates)
        {
            if (!seen.Add((f.Name, f.Language))) continue;
            if (!byKey.TryGetValue((f.Name, f.Language), out var row))
            {
                row = new WhatsAppTemplate { WorkspaceId = caller.WorkspaceId, Name = f.Name, Language = f.Language, Status = f.Status };
                db.Add(row);
            }
            row.ChannelConfigId = config.Id;
            row.Status = f.Status;
            row.Category = f.Category;
            row.HeaderType = f.HeaderType;
            row.BodyParameterCount = f.BodyParameterCount;
            row.MetaId = f.MetaId;
            row.Components = f.Components;
            row.SyncedAt = now;
        }
        var removed = existing.Where(t => !seen.Contains((t.Name, t.Language))).ToList();
        db.RemoveRange(removed);
        audit.Record(caller, "whatsapp_templates.sync", "channel", config.Id, new { synced = seen.Count, removed = removed.Count, pages = fetched.Pages });
        await db.SaveChangesAsync(ct);
        var list = await db.Set<WhatsAppTemplate>().AsNoTracking().Where(t => t.WorkspaceId == caller.WorkspaceId)
            .OrderBy(t => t.Name).ThenBy(t => t.Language).ToListAsync(ct);
        return new WhatsAppSyncResult(config.Id.ToString(CultureInfo.InvariantCulture), seen.Count, removed.Count, fetched.Pages, list.Select(WhatsAppTemplateDto.From).ToList());
    }

    public async Task<Paged<WhatsAppTemplateDto>> ListAsync(Caller caller, string? status, string? name, PageRequest p, CancellationToken ct)
    {
        var q = db.Set<WhatsAppTemplate>().AsNoTracking().Where(t => t.WorkspaceId == caller.WorkspaceId);
        if (!string.IsNullOrEmpty(status)) q = q.Where(t => t.Status == status.ToUpperInvariant());
        if (!string.IsNullOrEmpty(name)) q = q.Where(t => t.Name == name);
        var total = await q.LongCountAsync(ct);
        var rows = await q.OrderBy(t => t.Name).ThenBy(t => t.Language).Skip(p.Skip).Take(p.Limit).ToListAsync(ct);
        return new Paged<WhatsAppTemplateDto>(rows.Select(WhatsAppTemplateDto.From).ToList(), total, p.Page, p.Limit);
    }

    internal sealed record Fetched(string Name, string Language, string Status, string? Category, string? HeaderType, int BodyParameterCount, string? MetaId, string Components);

    private async Task<(List<Fetched> Templates, int Pages)> FetchAsync(WhatsAppSettings s, CancellationToken ct)
    {
        var client = http.CreateClient(HttpChannel.WhatsApp);
        var templates = new List<Fetched>();
        string? after = null;
        var pages = 0;
        do
        {
            var url = $"{s.Api}/{Uri.EscapeDataString(s.WabaId!)}/message_templates?fields=name,language,status,category,components,id&limit=100"
                + (after is null ? "" : "&after=" + Uri.EscapeDataString(after));
            using var req = new HttpRequestMessage(HttpMethod.Get, url);
            req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", s.AccessToken);
            using var r = await client.SendAsync(req, ct);
            var body = await r.Content.ReadAsStringAsync(ct);
            if (!r.IsSuccessStatusCode) throw new UpstreamException($"The Cloud API answered {(int)r.StatusCode}: {MetaError(body)}");
            pages++;
            try
            {
                using var doc = JsonDocument.Parse(body);
                if (!doc.RootElement.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
                    throw new UpstreamException("The Cloud API's answer has no data array.");
                templates.AddRange(data.EnumerateArray().Select(Parse).OfType<Fetched>());
                after = doc.RootElement.TryGetProperty("paging", out var paging) && paging.TryGetProperty("next", out var next) && next.ValueKind == JsonValueKind.String
                        && paging.TryGetProperty("cursors", out var cursors) && cursors.TryGetProperty("after", out var a) && a.ValueKind == JsonValueKind.String
                    ? a.GetString() : null;
            }
            catch (JsonException e)
            {
                throw new UpstreamException("The Cloud API's answer is not JSON: " + e.Message);
            }
        } while (after is not null && pages < MaxPages);
        return (templates, pages);
    }

    /// <summary>One element of Meta's <c>data</c> array; null when it lacks a name or language.</summary>
    internal static Fetched? Parse(JsonElement t)
    {
        string? Str(JsonElement e, string p) => e.TryGetProperty(p, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var name = Str(t, "name");
        var language = Str(t, "language");
        if (string.IsNullOrEmpty(name) || string.IsNullOrEmpty(language)) return null;
        string? header = null;
        var parameters = 0;
        var components = "[]";
        if (t.TryGetProperty("components", out var comps) && comps.ValueKind == JsonValueKind.Array)
        {
            components = comps.GetRawText();
            foreach (var c in comps.EnumerateArray())
            {
                switch (Str(c, "type")?.ToUpperInvariant())
                {
                    case "HEADER":
                        header = (Str(c, "format") ?? "TEXT").ToLowerInvariant();
                        break;
                    case "BODY":
                        parameters = CountParameters(Str(c, "text"));
                        break;
                }
            }
        }
        return new Fetched(name, language, (Str(t, "status") ?? "UNKNOWN").ToUpperInvariant(), Str(t, "category"), header, parameters, Str(t, "id"), components);
    }

    /// <summary>Distinct placeholders: positional <c>{{1}}</c> or named <c>{{first_name}}</c>.</summary>
    public static int CountParameters(string? text) =>
        text is null ? 0 : Placeholder().Matches(text).Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal).Count();

    [GeneratedRegex(@"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")]
    private static partial Regex Placeholder();

    private static string MetaError(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.TryGetProperty("error", out var e) && e.TryGetProperty("message", out var m)) return m.GetString() ?? body;
        }
        catch (JsonException) { }
        return body.Length > 300 ? body[..300] : body;
    }
}
