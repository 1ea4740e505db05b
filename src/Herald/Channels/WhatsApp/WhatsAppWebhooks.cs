using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Herald.Channels.Receipts;
using Herald.Storage;

namespace Herald.Channels.WhatsApp;

/// <summary>
/// Meta's webhook for the Cloud API: <c>GET /webhooks/whatsapp</c> answers the subscription
/// challenge when hub.verify_token matches a channel's verifyToken; <c>POST</c> carries message
/// statuses signed with X-Hub-Signature-256 (HMAC-SHA256 of the raw body with the app secret).
/// Unsigned POSTs answer 401, bad signatures 403, and neither changes anything.
/// </summary>
public static class WhatsAppWebhooks
{
    public const string SignatureHeader = "X-Hub-Signature-256";

    public static void MapWhatsAppWebhooks(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/webhooks/whatsapp").WithTags("Webhooks").AllowAnonymous().DisableAntiforgery().RequireRateLimiting(Hosting.HeraldRateLimits.Public);

        g.MapGet("/", async (HttpContext http, HeraldDb db, ChannelSecrets secrets, CancellationToken ct) =>
        {
            var q = http.Request.Query;
            var token = q["hub.verify_token"].ToString();
            if (q["hub.mode"] != "subscribe" || token.Length == 0) return Results.StatusCode(StatusCodes.Status403Forbidden);
            var channels = await ChannelDirectory.LoadAsync<WhatsAppSettings>(db, secrets, WhatsAppChannel.ProviderName, ct);
            var match = channels.Any(c => c.Settings.VerifyToken is { } t &&
                CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(t), Encoding.UTF8.GetBytes(token)));
            return match ? Results.Text(q["hub.challenge"].ToString(), "text/plain") : Results.StatusCode(StatusCodes.Status403Forbidden);
        });

        g.MapPost("/", async (HttpContext http, HeraldDb db, ChannelSecrets secrets, DeliveryReceipts receipts, CancellationToken ct) =>
        {
            var header = http.Request.Headers[SignatureHeader].ToString();
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer, ct);
            var raw = buffer.ToArray();
            if (!header.StartsWith("sha256=", StringComparison.Ordinal)) return Results.Unauthorized();

            List<StatusUpdate> updates;
            HashSet<string> phoneIds;
            try
            {
                (updates, phoneIds) = Read(raw);
            }
            catch (JsonException)
            {
                return Results.BadRequest();
            }

            // The body names the phone number; only its channels' app secrets are tried.
            var channels = await ChannelDirectory.LoadAsync<WhatsAppSettings>(db, secrets, WhatsAppChannel.ProviderName, ct);
            var given = Encoding.ASCII.GetBytes(header["sha256=".Length..].ToLowerInvariant());
            var workspaces = channels
                .Where(c => phoneIds.Count == 0 || phoneIds.Contains(c.Settings.PhoneNumberId ?? ""))
                .Where(c => c.Settings.AppSecret is { } secret &&
                    CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(secret, raw)), given))
                .Select(c => c.WorkspaceId).Distinct().ToList();
            if (workspaces.Count == 0) return Results.StatusCode(StatusCodes.Status403Forbidden);

            foreach (var u in updates)
                foreach (var ws in workspaces)
                    if (await receipts.ApplyAsync(ws, u.MessageId, u.Status, u.At, u.ErrorCode, u.ErrorText, ct) != ReceiptOutcome.NotFound) break;
            return Results.Ok();
        });
    }

    /// <summary>Hex HMAC-SHA256 of the raw body (what follows <c>sha256=</c> in the header).</summary>
    public static string Sign(string appSecret, byte[] body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(appSecret), body));

    public sealed record StatusUpdate(string MessageId, ReceiptStatus Status, DateTime? At, string? ErrorCode, string? ErrorText);

    /// <summary>Statuses from <c>entry[].changes[].value.statuses[]</c> and the phone number ids they concern.</summary>
    public static (List<StatusUpdate> Updates, HashSet<string> PhoneIds) Read(byte[] body)
    {
        using var doc = JsonDocument.Parse(body);
        var updates = new List<StatusUpdate>();
        var phones = new HashSet<string>();
        if (!doc.RootElement.TryGetProperty("entry", out var entries) || entries.ValueKind != JsonValueKind.Array) return (updates, phones);
        foreach (var entry in entries.EnumerateArray())
        {
            if (!entry.TryGetProperty("changes", out var changes) || changes.ValueKind != JsonValueKind.Array) continue;
            foreach (var change in changes.EnumerateArray())
            {
                if (!change.TryGetProperty("value", out var value) || value.ValueKind != JsonValueKind.Object) continue;
                if (value.TryGetProperty("metadata", out var meta) && meta.TryGetProperty("phone_number_id", out var pid) && pid.GetString() is { } p) phones.Add(p);
                if (!value.TryGetProperty("statuses", out var statuses) || statuses.ValueKind != JsonValueKind.Array) continue;
                foreach (var s in statuses.EnumerateArray())
                {
                    var id = s.TryGetProperty("id", out var i) ? i.GetString() : null;
                    ReceiptStatus? status = (s.TryGetProperty("status", out var st) ? st.GetString() : null) switch
                    {
                        "sent" => ReceiptStatus.Sent,
                        "delivered" => ReceiptStatus.Delivered,
                        "read" => ReceiptStatus.Read,
                        "failed" => ReceiptStatus.Failed,
                        _ => null,
                    };
                    if (id is null || status is null) continue;
                    DateTime? at = s.TryGetProperty("timestamp", out var ts) && long.TryParse(ts.GetString(), out var unix)
                        ? DateTimeOffset.FromUnixTimeSeconds(unix).UtcDateTime : null;
                    string? code = null, text = null;
                    if (s.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0)
                    {
                        var e = errors[0];
                        if (e.TryGetProperty("code", out var c)) code = c.ValueKind == JsonValueKind.Number ? c.GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture) : c.GetString();
                        text = e.TryGetProperty("title", out var t) ? t.GetString() : e.TryGetProperty("message", out var m) ? m.GetString() : null;
                    }
                    updates.Add(new StatusUpdate(id, status.Value, at, code, text));
                }
            }
        }
        return (updates, phones);
    }
}
