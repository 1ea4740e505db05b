using System.Net;
using System.Text;
using System.Text.Json.Serialization;
using Herald.Auth;
using Herald.Common;
using Herald.Contacts;
using Herald.Delivery;
using Herald.Hosting;
using Herald.Storage;
using Herald.Workspaces;
using Microsoft.EntityFrameworkCore;
using Microsoft.Net.Http.Headers;

namespace Herald.Tracking;

/// <summary>Body of POST /api/v1/conversions: a delivery, or a contact and campaign (its latest delivery to them).</summary>
public sealed class ConversionInput
{
    [JsonNumberHandling(JsonNumberHandling.AllowReadingFromString)]
    public long? DeliveryId { get; set; }
    [JsonNumberHandling(JsonNumberHandling.AllowReadingFromString)]
    public long? ContactId { get; set; }
    [JsonNumberHandling(JsonNumberHandling.AllowReadingFromString)]
    public long? CampaignId { get; set; }
    public decimal? Value { get; set; }
    public string? Currency { get; set; }
    /// <summary>When it happened; default now.</summary>
    public DateTimeOffset? OccurredAt { get; set; }
}

public sealed record ConversionDto(string Id, string DeliveryId, string? CampaignId, string? RunId, string ContactId, decimal? Value, string? Currency,
    DateTime At, bool FirstForDelivery);

/// <summary>
/// The public tracking endpoints (no API key: the signed token is the capability) and the conversions API.
/// /t/o/{token} open pixel, /t/c/{token} click redirect, GET /u/{token} unsubscribe page, POST /u/{token} RFC 8058
/// one-click unsubscribe (or the page's per-channel choice). A forged, altered or truncated token answers 404 and
/// records nothing. Rate limited per client address (<see cref="HeraldRateLimits.Public"/>).
/// </summary>
public static class TrackingApi
{
    /// <summary>A transparent 1x1 GIF.</summary>
    private static readonly byte[] Pixel = Convert.FromBase64String("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7");

    public static void MapTrackingApi(this IEndpointRouteBuilder app)
    {
        var t = app.MapGroup("").WithTags("Tracking").AllowAnonymous().DisableAntiforgery().ExcludeFromDescription()
            .RequireRateLimiting(HeraldRateLimits.Public);

        t.MapGet("/t/o/{token}", async (string token, HttpContext http, TrackingTokens tokens, TrackingRecorder recorder, CancellationToken ct) =>
        {
            await tokens.EnsureKeyAsync(ct);
            if (tokens.Read(token, TokenKind.Open) is not { } tk) return Results.NotFound();
            if (!await recorder.OpenAsync(tk.DeliveryId, http.Request.Headers.UserAgent.ToString(), ct)) return Results.NotFound();
            NoCache(http.Response);
            return Results.File(Pixel, "image/gif");
        });

        // The target is only ever the stored URL of the token's link: nothing in the request can choose it.
        t.MapGet("/t/c/{token}", async (string token, HttpContext http, TrackingTokens tokens, TrackingRecorder recorder, CancellationToken ct) =>
        {
            await tokens.EnsureKeyAsync(ct);
            if (tokens.Read(token, TokenKind.Click) is not { } tk) return Results.NotFound();
            var url = await recorder.ClickAsync(tk, http.Request.Headers.UserAgent.ToString(), ct);
            if (url is null) return Results.NotFound();
            NoCache(http.Response);
            // The token stays here: the destination does not learn it from the Referer.
            http.Response.Headers["Referrer-Policy"] = "no-referrer";
            return Results.Redirect(url, permanent: false);
        });

        t.MapGet("/u/{token}", async (string token, HttpContext http, TrackingTokens tokens, HeraldDb db, CancellationToken ct) =>
        {
            await tokens.EnsureKeyAsync(ct);
            if (tokens.Read(token, TokenKind.Unsubscribe) is not { } tk) return NotFoundPage();
            var view = await UnsubscribePage.LoadAsync(db, tk.DeliveryId, ct);
            if (view is null) return NotFoundPage();
            NoCache(http.Response);
            return Results.Content(UnsubscribePage.Form(view, http.Request.Path), "text/html; charset=utf-8");
        });

        t.MapPost("/u/{token}", async (string token, HttpContext http, TrackingTokens tokens, TrackingRecorder recorder, HeraldDb db, CancellationToken ct) =>
        {
            await tokens.EnsureKeyAsync(ct);
            if (tokens.Read(token, TokenKind.Unsubscribe) is not { } tk) return NotFoundPage();
            // RFC 8058: the mail client posts "List-Unsubscribe=One-Click" and expects it done at once. The page posts
            // the channels ticked; anything else unsubscribes the channel the message came on.
            List<string>? channels = null;
            var oneClick = false;
            if (http.Request.HasFormContentType)
            {
                var form = await http.Request.ReadFormAsync(ct);
                oneClick = form["List-Unsubscribe"] == "One-Click";
                if (!oneClick && form.ContainsKey("page")) channels = form["channel"].Where(c => c is not null).Select(c => c!).ToList();
            }
            if (channels is { Count: 0 }) return Results.Redirect(http.Request.Path);
            var done = await recorder.UnsubscribeAsync(tk.DeliveryId, channels, oneClick ? "one_click" : "unsubscribe_page", ct);
            if (done is null) return NotFoundPage();
            NoCache(http.Response);
            var view = await UnsubscribePage.LoadAsync(db, tk.DeliveryId, ct);
            return Results.Content(UnsubscribePage.Done(view, done), "text/html; charset=utf-8");
        });

        app.MapPost("/api/v1/conversions", async (HttpContext http, ConversionInput input, HeraldDb db, TrackingRecorder recorder, TimeProvider clock, CancellationToken ct) =>
        {
            var caller = http.Current();
            var v = new Validation();
            if (input.DeliveryId is null && (input.ContactId is null || input.CampaignId is null))
                v.Add("deliveryId", "Give deliveryId, or contactId and campaignId.");
            if (input.DeliveryId is not null && (input.ContactId is not null || input.CampaignId is not null))
                v.Add("deliveryId", "Give deliveryId or contactId and campaignId, not both.");
            if (input.Value is < 0) v.Add("value", "A conversion's value cannot be negative.");
            else if (input.Value > Money.MaxAmount) v.Add("value", Money.TooLarge);
            if (input.Currency is { } cur && (cur.Length != 3 || !cur.All(char.IsAsciiLetter))) v.Add("currency", "Use a 3-letter ISO 4217 code.");
            v.ThrowIfInvalid();
            var q = db.Set<DeliveryRow>().AsNoTracking().Where(d => d.WorkspaceId == caller.WorkspaceId);
            long? deliveryId = input.DeliveryId is { } id
                ? await q.Where(d => d.Id == id).Select(d => (long?)d.Id).FirstOrDefaultAsync(ct)
                : await q.Where(d => d.ContactId == input.ContactId && d.CampaignId == input.CampaignId && d.SentAt != null && !d.Test)
                    .OrderByDescending(d => d.SentAt).ThenByDescending(d => d.Id).Select(d => (long?)d.Id).FirstOrDefaultAsync(ct);
            if (deliveryId is null)
                throw new NotFoundException(input.DeliveryId is not null ? $"Delivery {input.DeliveryId}" : $"A sent delivery of campaign {input.CampaignId} to contact {input.ContactId}");
            var at = input.OccurredAt?.UtcDateTime ?? clock.GetUtcNow().UtcDateTime;
            var c = await recorder.ConvertAsync(deliveryId.Value, input.Value, input.Currency?.ToUpperInvariant(), at, "api", ct)
                ?? throw new NotFoundException($"Delivery {deliveryId}");
            return TypedResults.Created($"/api/v1/conversions/{c.EventId}", new ConversionDto(c.EventId.ToString(), c.DeliveryId.ToString(), c.CampaignId?.ToString(),
                c.RunId?.ToString(), c.ContactId.ToString(), c.Value, c.Currency, c.At, c.FirstForDelivery));
        }).RequireRole(Role.Editor).WithTags("Tracking");
    }

    private static void NoCache(HttpResponse r)
    {
        r.Headers.CacheControl = "no-store, no-cache, must-revalidate, max-age=0, private";
        r.Headers.Pragma = "no-cache";
        r.Headers.Expires = "0";
        r.Headers["X-Robots-Tag"] = "noindex";
    }

    private static IResult NotFoundPage() =>
        Results.Content(UnsubscribePage.Shell("Link not valid", "<p>This link is not valid. It may have been copied incompletely.</p>"),
            "text/html; charset=utf-8", Encoding.UTF8, StatusCodes.Status404NotFound);
}

/// <summary>The unsubscribe page: who, from which workspace, and a choice per channel the contact can be reached on.</summary>
public static class UnsubscribePage
{
    public sealed record View(string Workspace, string Channel, string? MaskedAddress, IReadOnlyList<(string Channel, string Label, bool Subscribed)> Channels);

    public static async Task<View?> LoadAsync(HeraldDb db, long deliveryId, CancellationToken ct)
    {
        var d = await db.Set<DeliveryRow>().AsNoTracking().Where(x => x.Id == deliveryId)
            .Select(x => new { x.WorkspaceId, x.ContactId, x.Channel, x.Address }).FirstOrDefaultAsync(ct);
        if (d is null) return null;
        var ws = await db.Set<Workspace>().AsNoTracking().Where(w => w.Id == d.WorkspaceId).Select(w => w.Name).FirstOrDefaultAsync(ct) ?? "";
        var c = await db.Set<Contact>().AsNoTracking().FirstOrDefaultAsync(x => x.Id == d.ContactId && x.WorkspaceId == d.WorkspaceId, ct);
        var channels = new List<(string, string, bool)>();
        if (c is not null)
        {
            if (!string.IsNullOrEmpty(c.Email)) channels.Add(("email", "Email", c.EmailConsent == ConsentStatus.Subscribed));
            if (!string.IsNullOrEmpty(c.Phone))
            {
                channels.Add(("sms", "SMS", c.SmsConsent == ConsentStatus.Subscribed));
                channels.Add(("whatsapp", "WhatsApp", c.WhatsappConsent == ConsentStatus.Subscribed));
            }
        }
        if (!channels.Any(x => x.Item1 == d.Channel) && TrackingRecorder.ConsentChannels.Contains(d.Channel))
            channels.Insert(0, (d.Channel, d.Channel, c?.ConsentFor(d.Channel) == ConsentStatus.Subscribed));
        return new View(ws, d.Channel, Mask(d.Address), channels);
    }

    /// <summary>a***@example.com / +91******3210: enough to recognize, not to harvest.</summary>
    internal static string? Mask(string? address)
    {
        if (string.IsNullOrEmpty(address)) return null;
        var at = address.IndexOf('@');
        if (at > 0) return address[0] + new string('*', Math.Max(1, at - 1)) + address[at..];
        return address.Length <= 4 ? address : address[..3] + new string('*', address.Length - 7 > 0 ? address.Length - 7 : 1) + address[^4..];
    }

    public static string Form(View v, string action)
    {
        var sb = new StringBuilder();
        sb.Append("<p>Stop messages from <strong>").Append(H(v.Workspace)).Append("</strong>");
        if (v.MaskedAddress is not null) sb.Append(" to <strong>").Append(H(v.MaskedAddress)).Append("</strong>");
        sb.Append(".</p><form method=\"post\" action=\"").Append(H(action)).Append("\"><fieldset><legend>Unsubscribe me from</legend>");
        foreach (var (ch, label, subscribed) in v.Channels)
        {
            var check = ch == v.Channel ? " checked" : "";
            sb.Append("<label><input type=\"checkbox\" name=\"channel\" value=\"").Append(H(ch)).Append('"').Append(check).Append("> ")
                .Append(H(label)).Append(subscribed ? "" : " (already unsubscribed)").Append("</label><br>");
        }
        sb.Append("</fieldset><input type=\"hidden\" name=\"page\" value=\"1\"><button type=\"submit\">Unsubscribe</button></form>");
        return Shell("Unsubscribe", sb.ToString());
    }

    public static string Done(View? v, UnsubscribeOutcome done)
    {
        var what = done.Channels.Count == 0 ? "these messages" : string.Join(", ", done.Channels);
        return Shell("Unsubscribed", $"<p>You are unsubscribed from {H(what)}{(v is null ? "" : " of <strong>" + H(v.Workspace) + "</strong>")}. " +
            "You will not receive them any more.</p>");
    }

    public static string Shell(string title, string body) =>
        $"""<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>{H(title)}</title><style>body{"{"}font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5{"}"}fieldset{"{"}border:1px solid #ccc;margin:1rem 0{"}"}button{"{"}padding:.5rem 1rem{"}"}</style></head><body><h1>{H(title)}</h1>{body}</body></html>""";

    private static string H(string s) => WebUtility.HtmlEncode(s);
}
