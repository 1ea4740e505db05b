using Herald.Auth;

namespace Herald.Tests.Infrastructure;

/// <summary>
/// Every /api/v1 endpoint with the least role it needs and a valid sample body. The authorization
/// tests run against this list, and a test fails when the app maps an endpoint that is not here:
/// new endpoints must join (add a line) to ship.
/// Route parameters are filled from <see cref="Seeds"/>: a resource of that kind created in workspace A.
/// </summary>
public static class EndpointCatalog
{
    public sealed record Entry(string Method, string Route, Role MinRole, object? Body = null, bool Multipart = false);

    public static readonly Entry[] All =
    [
        new("GET", "/api/v1/workspace", Role.Viewer),
        new("PUT", "/api/v1/workspace", Role.Admin, new { name = "renamed" }),
        new("POST", "/api/v1/workspaces", Role.Admin, new { name = "another" }),
        new("GET", "/api/v1/workspaces", Role.Viewer),
        new("GET", "/api/v1/users", Role.Viewer),
        new("POST", "/api/v1/users", Role.Admin, new { email = "new-member@example.com", password = "password123", role = "viewer" }),
        new("PATCH", "/api/v1/users/{id}", Role.Admin, new { role = "editor" }),
        new("DELETE", "/api/v1/users/{id}", Role.Admin),
        new("GET", "/api/v1/api-keys", Role.Admin),
        new("POST", "/api/v1/api-keys", Role.Admin, new { name = "ci", role = "viewer" }),
        new("DELETE", "/api/v1/api-keys/{id}", Role.Admin),
        new("GET", "/api/v1/audit", Role.Viewer),
        new("POST", "/api/v1/contacts", Role.Editor, new { email = "matrix@example.com" }),
        new("POST", "/api/v1/contacts/bulk", Role.Editor, new { contacts = new[] { new { email = "bulk-matrix@example.com" } } }),
        new("GET", "/api/v1/contacts", Role.Viewer),
        new("GET", "/api/v1/contacts/{id}", Role.Viewer),
        new("PATCH", "/api/v1/contacts/{id}", Role.Editor, new { city = "Pune" }),
        new("DELETE", "/api/v1/contacts/{id}", Role.Editor),
        new("POST", "/api/v1/contacts/{id}/events", Role.Editor, new { type = "order", value = 10 }),
        new("GET", "/api/v1/contacts/{id}/events", Role.Viewer),
        new("GET", "/api/v1/contacts/{id}/consent-history", Role.Viewer),
        new("POST", "/api/v1/events", Role.Editor, new { events = new[] { new { email = "event-matrix@example.com", type = "signup" } } }),
        new("POST", "/api/v1/templates", Role.Editor, new { name = "matrix", channel = "sms", sms = new { body = "Hi {{ contact.firstName }}" } }),
        new("GET", "/api/v1/templates", Role.Viewer),
        new("GET", "/api/v1/templates/{id}", Role.Viewer),
        new("PUT", "/api/v1/templates/{id}", Role.Editor, new { name = "matrix-2", channel = "sms", sms = new { body = "Hello" } }),
        new("DELETE", "/api/v1/templates/{id}", Role.Editor),
        new("POST", "/api/v1/templates/{id}/render", Role.Viewer, new { data = new { firstName = "Asha" } }),
        new("POST", "/api/v1/campaigns", Role.Editor, new { name = "matrix", channel = "sms", content = new { sms = new { body = "Hi" } }, audience = new { all = true }, schedule = new { type = "now" } }),
        new("GET", "/api/v1/campaigns", Role.Viewer),
        new("GET", "/api/v1/campaigns/{id}", Role.Viewer),
        new("PATCH", "/api/v1/campaigns/{id}", Role.Editor, new { name = "renamed" }),
        new("DELETE", "/api/v1/campaigns/{id}", Role.Editor),
        new("POST", "/api/v1/campaigns/{id}/submit", Role.Editor),
        new("POST", "/api/v1/campaigns/{id}/approve", Role.Approver),
        new("POST", "/api/v1/campaigns/{id}/reject", Role.Approver, new { reason = "no" }),
        new("POST", "/api/v1/campaigns/{id}/send", Role.Editor),
        new("POST", "/api/v1/campaigns/{id}/pause", Role.Editor),
        new("POST", "/api/v1/campaigns/{id}/resume", Role.Editor),
        new("POST", "/api/v1/campaigns/{id}/cancel", Role.Editor),
        new("PATCH", "/api/v1/campaigns/{id}/schedule", Role.Editor, new { schedule = new { type = "now" } }),
        new("GET", "/api/v1/campaigns/{id}/runs", Role.Viewer),
        new("GET", "/api/v1/channels", Role.Viewer),
        new("POST", "/api/v1/channels", Role.Admin, new { channel = "webhook", provider = "webhook", name = "matrix hook", settings = new { url = "http://127.0.0.1:9/hook", secret = "matrix-secret-0123456789" } }),
        new("GET", "/api/v1/channels/{id}", Role.Viewer),
        new("PUT", "/api/v1/channels/{id}", Role.Admin, new { name = "renamed hook" }),
        new("DELETE", "/api/v1/channels/{id}", Role.Admin),
        new("POST", "/api/v1/channels/{id}/test", Role.Admin),
        new("GET", "/api/v1/contacts/{id}/push-subscriptions", Role.Viewer),
        new("POST", "/api/v1/contacts/{id}/push-subscriptions", Role.Editor, new { endpoint = "https://push.example.com/send/matrix", keys = new { p256dh = SamplePushKey, auth = SamplePushAuth } }),
        new("DELETE", "/api/v1/contacts/{id}/push-subscriptions", Role.Editor),
        new("POST", "/api/v1/segments", Role.Editor, new { name = "vip", filter = new { totalSpent = new { gte = 1000 } } }),
        new("GET", "/api/v1/segments", Role.Viewer),
        new("GET", "/api/v1/segments/{id}", Role.Viewer),
        new("PUT", "/api/v1/segments/{id}", Role.Editor, new { name = "renamed", filter = new { city = "Pune" } }),
        new("DELETE", "/api/v1/segments/{id}", Role.Editor),
        new("POST", "/api/v1/lists", Role.Editor, new { name = "matrix list" }),
        new("GET", "/api/v1/lists", Role.Viewer),
        new("POST", "/api/v1/lists/{id}/members", Role.Editor, new { contactIds = new[] { 1 } }),
        new("GET", "/api/v1/lists/{id}/members", Role.Viewer),
        new("DELETE", "/api/v1/lists/{id}/members", Role.Editor, new { contactIds = new[] { 1 } }),
        new("POST", "/api/v1/audience/preview", Role.Viewer, new { audience = new { all = true } }),
        new("POST", "/api/v1/imports", Role.Editor, null, Multipart: true),
        new("GET", "/api/v1/imports/{id}", Role.Viewer),
        new("GET", "/api/v1/imports/{id}/errors.csv", Role.Viewer),
        new("GET", "/api/v1/campaigns/{id}/stats", Role.Viewer),
        new("GET", "/api/v1/campaigns/{id}/deliveries", Role.Viewer),
        new("POST", "/api/v1/campaigns/{id}/retry-failed", Role.Editor),
        new("POST", "/api/v1/campaigns/{id}/test-send", Role.Editor, new { addresses = new[] { "matrix-test@example.com" } }),
        new("GET", "/api/v1/analytics", Role.Viewer),
        new("GET", "/api/v1/outbox", Role.Viewer),
        new("POST", "/api/v1/conversions", Role.Editor, new { deliveryId = "1", value = 10, currency = "INR" }),
        new("POST", "/api/v1/journeys", Role.Editor, Seeds.JourneyBody("matrix journey")),
        new("GET", "/api/v1/journeys", Role.Viewer),
        new("GET", "/api/v1/journeys/{id}", Role.Viewer),
        new("PUT", "/api/v1/journeys/{id}", Role.Editor, Seeds.JourneyBody("matrix journey edited")),
        new("POST", "/api/v1/journeys/{id}/activate", Role.Editor),
        new("POST", "/api/v1/journeys/{id}/pause", Role.Editor),
        new("POST", "/api/v1/journeys/{id}/enroll", Role.Editor, new { contactIds = new[] { "1" } }),
        new("GET", "/api/v1/journeys/{id}/status", Role.Viewer),
        new("GET", "/api/v1/journeys/{id}/enrollments", Role.Viewer),
        new("GET", "/api/v1/journeys/{id}/jobs", Role.Viewer),
        new("POST", "/api/v1/media", Role.Editor, null, Multipart: true),
        new("GET", "/api/v1/media", Role.Viewer),
        new("GET", "/api/v1/media/{id}", Role.Viewer),
        new("DELETE", "/api/v1/media/{id}", Role.Editor),
        new("POST", "/api/v1/products", Role.Editor, new { sku = "matrix-sku", name = "Matrix product", price = 10, currency = "INR" }),
        new("GET", "/api/v1/products", Role.Viewer),
        new("GET", "/api/v1/products/{id}", Role.Viewer),
        new("PUT", "/api/v1/products/{id}", Role.Editor, new { sku = "matrix-sku-2", name = "Renamed product" }),
        new("DELETE", "/api/v1/products/{id}", Role.Editor),
        new("POST", "/api/v1/products/import", Role.Editor, null, Multipart: true),
        new("POST", "/api/v1/channels/whatsapp/templates/sync", Role.Editor),
        new("GET", "/api/v1/channels/whatsapp/templates", Role.Viewer),
    ];

    /// <summary>A well-formed (65-byte, uncompressed point) browser key and a 16-byte auth secret, base64url.</summary>
    public static readonly string SamplePushKey = System.Buffers.Text.Base64Url.EncodeToString([4, .. Enumerable.Range(1, 64).Select(i => (byte)i)]);
    public static readonly string SamplePushAuth = System.Buffers.Text.Base64Url.EncodeToString(Enumerable.Range(1, 16).Select(i => (byte)i).ToArray());

    /// <summary>Which resource a route's <c>{id}</c> names, by route prefix (longest first).</summary>
    public static string ResourceOf(string route)
    {
        var parts = route.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var i = Array.IndexOf(parts, "{id}");
        return i > 0 ? parts[i - 1] : "";
    }
}
