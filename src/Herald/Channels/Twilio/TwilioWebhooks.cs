using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Herald.Channels.Receipts;
using Herald.Contacts;
using Herald.Hosting;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Herald.Channels.Twilio;

/// <summary>
/// Twilio's callbacks: message status (<c>POST /webhooks/twilio/status</c>) and inbound SMS
/// (<c>POST /webhooks/twilio/inbound</c>, STOP/START keywords). Both are signed with
/// X-Twilio-Signature by the account's auth token; the workspace is the one whose twilio channel
/// holds that account and token. Unsigned requests answer 401, bad signatures 403, and neither
/// changes anything.
/// </summary>
public static class TwilioWebhooks
{
    public const string SignatureHeader = "X-Twilio-Signature";

    /// <summary>Twilio's opt-out keywords (the carrier-level list it enforces itself).</summary>
    public static readonly string[] StopWords = ["STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"];
    public static readonly string[] StartWords = ["START", "YES", "UNSTOP"];

    public static void MapTwilioWebhooks(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/webhooks/twilio").WithTags("Webhooks").AllowAnonymous().DisableAntiforgery().RequireRateLimiting(Hosting.HeraldRateLimits.Public);

        g.MapPost("/status", async (HttpContext http, HeraldDb db, ChannelSecrets secrets, DeliveryReceipts receipts, IOptions<HeraldOptions> options, CancellationToken ct) =>
        {
            var (form, workspaces, failure) = await VerifyAsync(http, db, secrets, options.Value, ct);
            if (failure is not null) return failure;
            var sid = form["MessageSid"].ToString();
            var status = Map(form["MessageStatus"].ToString());
            if (string.IsNullOrEmpty(sid) || status is null) return Results.NoContent();
            var errorCode = form["ErrorCode"].ToString();
            foreach (var ws in workspaces)
            {
                var outcome = await receipts.ApplyAsync(ws, sid, status.Value, null, string.IsNullOrEmpty(errorCode) ? null : errorCode,
                    string.IsNullOrEmpty(errorCode) ? null : $"Twilio {form["MessageStatus"]} {errorCode}", ct);
                if (outcome != ReceiptOutcome.NotFound) break;
            }
            return Results.NoContent();
        });

        g.MapPost("/inbound", async (HttpContext http, HeraldDb db, ChannelSecrets secrets, TimeProvider clock, IOptions<HeraldOptions> options, CancellationToken ct) =>
        {
            var (form, workspaces, failure) = await VerifyAsync(http, db, secrets, options.Value, ct);
            if (failure is not null) return failure;
            var word = string.Join(' ', form["Body"].ToString().Trim().ToUpperInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries));
            var status = StopWords.Contains(word) ? ConsentStatus.Unsubscribed : StartWords.Contains(word) ? ConsentStatus.Subscribed : null;
            var from = form["From"].ToString();
            if (status is not null && from.Length > 0)
                await SetSmsConsentAsync(db, workspaces, from, status, clock.GetUtcNow().UtcDateTime, ct);
            // Empty TwiML: Twilio itself answers STOP/START with the carrier-mandated confirmation.
            return Results.Content("<Response/>", "text/xml");
        });
    }

    /// <summary>Twilio message statuses to receipts; intermediate ones (accepted, scheduled) mean nothing yet.</summary>
    public static ReceiptStatus? Map(string status) => status switch
    {
        "queued" or "sending" or "sent" => ReceiptStatus.Sent,
        "delivered" => ReceiptStatus.Delivered,
        "read" => ReceiptStatus.Read,
        "undelivered" or "failed" => ReceiptStatus.Failed,
        _ => null,
    };

    /// <summary>The signature Twilio sends: base64 HMAC-SHA1 of the full URL followed by each form key and value, keys sorted.</summary>
    public static string Sign(string authToken, string url, IEnumerable<KeyValuePair<string, string>> form)
    {
        var sb = new StringBuilder(url);
        foreach (var (k, v) in form.OrderBy(p => p.Key, StringComparer.Ordinal)) sb.Append(k).Append(v);
        return Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(authToken), Encoding.UTF8.GetBytes(sb.ToString())));
    }

    private static async Task<(IFormCollection Form, List<long> Workspaces, IResult? Failure)> VerifyAsync(
        HttpContext http, HeraldDb db, ChannelSecrets secrets, HeraldOptions options, CancellationToken ct)
    {
        var signature = http.Request.Headers[SignatureHeader].ToString();
        if (!http.Request.HasFormContentType) return (FormCollection.Empty, [], Results.StatusCode(StatusCodes.Status415UnsupportedMediaType));
        var form = await http.Request.ReadFormAsync(ct);
        if (string.IsNullOrEmpty(signature)) return (form, [], Results.Unauthorized());
        var accountSid = form["AccountSid"].ToString();
        // Twilio signs the URL it called: the public one, not what a proxy forwarded to us.
        var url = options.PublicBaseUrl.TrimEnd('/') + http.Request.Path + http.Request.QueryString;
        var pairs = form.SelectMany(f => f.Value.Select(v => KeyValuePair.Create(f.Key, v ?? ""))).ToList();
        var expected = Encoding.ASCII.GetBytes(signature);
        var workspaces = new List<long>();
        foreach (var (ws, settings) in await ChannelDirectory.LoadAsync<TwilioSettings>(db, secrets, TwilioChannel.ProviderName, ct))
        {
            if (settings.AccountSid != accountSid || string.IsNullOrEmpty(settings.AuthToken)) continue;
            var mine = Encoding.ASCII.GetBytes(Sign(settings.AuthToken, url, pairs));
            if (CryptographicOperations.FixedTimeEquals(mine, expected) && !workspaces.Contains(ws)) workspaces.Add(ws);
        }
        return workspaces.Count == 0 ? (form, workspaces, Results.StatusCode(StatusCodes.Status403Forbidden)) : (form, workspaces, null);
    }

    private static async Task SetSmsConsentAsync(HeraldDb db, List<long> workspaces, string phone, string status, DateTime now, CancellationToken ct)
    {
        var contacts = await db.Set<Contact>().Where(c => workspaces.Contains(c.WorkspaceId) && c.Phone == phone && c.DeletedAt == null).ToListAsync(ct);
        foreach (var c in contacts.Where(c => c.SmsConsent != status))
        {
            c.SmsConsent = status;
            var detail = JsonNode.Parse(string.IsNullOrEmpty(c.ConsentDetail) ? "{}" : c.ConsentDetail) as JsonObject ?? [];
            detail[ChannelNames.Sms] = new JsonObject { ["at"] = now, ["source"] = "sms_keyword" };
            c.ConsentDetail = detail.ToJsonString();
            c.UpdatedAt = now;
            db.Set<ConsentChange>().Add(new ConsentChange
            {
                WorkspaceId = c.WorkspaceId, ContactId = c.Id, Channel = ChannelNames.Sms, Status = status, Source = "sms_keyword", At = now,
            });
        }
        await db.SaveChangesAsync(ct);
    }
}
