using Herald.Audit;
using Herald.Auth;
using Herald.Common;
using Herald.Contacts;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;

namespace Herald.Channels.WebPush;

/// <summary>Body of POST /api/v1/contacts/{id}/push-subscriptions: the browser's <c>PushSubscription.toJSON()</c>.</summary>
public sealed class PushSubscriptionInput
{
    public string? Endpoint { get; set; }
    public long? ExpirationTime { get; set; }
    public PushKeysInput? Keys { get; set; }
    public string? UserAgent { get; set; }
}

public sealed class PushKeysInput
{
    public string? P256dh { get; set; }
    public string? Auth { get; set; }
}

public sealed record PushSubscriptionDto(string Id, string ContactId, string Endpoint, DateTime CreatedAt, DateTime? LastSuccessAt);

/// <summary>/api/v1/contacts/{id}/push-subscriptions: a contact's browsers for web push.</summary>
public static class PushSubscriptionsApi
{
    public static void MapPushSubscriptionsApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/v1/contacts/{id:long}/push-subscriptions").WithTags("Contacts");

        g.MapGet("/", async (HttpContext http, long id, HeraldDb db, CancellationToken ct) =>
        {
            var caller = http.Current();
            await RequireContactAsync(db, caller, id, ct);
            var rows = await db.Set<PushSubscription>().AsNoTracking().Where(s => s.WorkspaceId == caller.WorkspaceId && s.ContactId == id)
                .OrderBy(s => s.Id).ToListAsync(ct);
            return TypedResults.Ok(rows.Select(ToDto).ToList());
        }).RequireRole(Role.Viewer);

        // Upsert by endpoint: a browser re-subscribing (new keys) or moving to another contact
        // (shared device, new login) replaces the old row instead of failing.
        g.MapPost("/", async (HttpContext http, long id, PushSubscriptionInput input, HeraldDb db, AuditLog audit, TimeProvider clock, CancellationToken ct) =>
        {
            var caller = http.Current();
            await RequireContactAsync(db, caller, id, ct);
            var v = new Validation();
            if (string.IsNullOrWhiteSpace(input.Endpoint) || !Uri.TryCreate(input.Endpoint, UriKind.Absolute, out var u) || u.Scheme != Uri.UriSchemeHttps && u.Scheme != Uri.UriSchemeHttp)
                v.Add("endpoint", "Give the push service endpoint URL.");
            else if (input.Endpoint.Length > 2048) v.Add("endpoint", "At most 2048 characters.");
            if (!WebPushSettings.IsKey(input.Keys?.P256dh, 65)) v.Add("keys.p256dh", "Give the browser's P-256 public key (base64url).");
            if (!WebPushSettings.IsKey(input.Keys?.Auth, 16)) v.Add("keys.auth", "Give the browser's 16-byte auth secret (base64url).");
            v.ThrowIfInvalid();
            var now = clock.GetUtcNow().UtcDateTime;
            var sub = await db.Set<PushSubscription>().FirstOrDefaultAsync(s => s.WorkspaceId == caller.WorkspaceId && s.Endpoint == input.Endpoint, ct);
            var created = sub is null;
            sub ??= db.Set<PushSubscription>().Add(new PushSubscription { WorkspaceId = caller.WorkspaceId, Endpoint = input.Endpoint!, P256dh = "", Auth = "", CreatedAt = now }).Entity;
            sub.ContactId = id;
            sub.P256dh = input.Keys!.P256dh!;
            sub.Auth = input.Keys.Auth!;
            sub.UserAgent = input.UserAgent is { Length: > 500 } ua ? ua[..500] : input.UserAgent;
            await db.SaveChangesAsync(ct);
            audit.Record(caller, created ? "push_subscription.create" : "push_subscription.update", "contact", id, new { subscriptionId = sub.Id });
            await db.SaveChangesAsync(ct);
            return created ? Results.Created($"/api/v1/contacts/{id}/push-subscriptions", ToDto(sub)) : Results.Ok(ToDto(sub));
        }).RequireRole(Role.Editor);

        // Without ?endpoint= removes all of the contact's subscriptions.
        g.MapDelete("/", async (HttpContext http, long id, string? endpoint, HeraldDb db, AuditLog audit, CancellationToken ct) =>
        {
            var caller = http.Current();
            await RequireContactAsync(db, caller, id, ct);
            var q = db.Set<PushSubscription>().Where(s => s.WorkspaceId == caller.WorkspaceId && s.ContactId == id);
            if (!string.IsNullOrEmpty(endpoint)) q = q.Where(s => s.Endpoint == endpoint);
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var removed = await q.ExecuteDeleteAsync(ct);
            if (!string.IsNullOrEmpty(endpoint) && removed == 0) throw new NotFoundException("Push subscription");
            audit.Record(caller, "push_subscription.delete", "contact", id, new { removed });
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
            return TypedResults.NoContent();
        }).RequireRole(Role.Editor);
    }

    private static PushSubscriptionDto ToDto(PushSubscription s) =>
        new(s.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), s.ContactId.ToString(System.Globalization.CultureInfo.InvariantCulture), s.Endpoint, s.CreatedAt, s.LastSuccessAt);

    private static async Task RequireContactAsync(HeraldDb db, Caller caller, long id, CancellationToken ct)
    {
        if (!await db.Set<Contact>().AnyAsync(c => c.Id == id && c.WorkspaceId == caller.WorkspaceId && c.DeletedAt == null, ct))
            throw new NotFoundException($"Contact {id}");
    }
}
