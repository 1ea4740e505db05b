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
        new("POST", "/api/v1/events", Role.Editor, new { events = new[] { new { email = "event-matrix@example.com", type = "signup" } } }),
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
    ];

    /// <summary>Which resource a route's <c>{id}</c> names, by route prefix (longest first).</summary>
    public static string ResourceOf(string route)
    {
        var parts = route.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var i = Array.IndexOf(parts, "{id}");
        return i > 0 ? parts[i - 1] : "";
    }
}
