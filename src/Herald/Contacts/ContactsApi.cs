using Herald.Auth;
using Herald.Common;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Herald.Contacts;

/// <summary>/api/v1/contacts and /api/v1/events.</summary>
public static class ContactsApi
{
    /// <summary>Optional narrowing of contact search by segment or list (supplied by the audience feature).</summary>
    public interface IContactScope
    {
        Task<IQueryable<Contact>?> ScopeAsync(Caller caller, long? segmentId, long? listId, CancellationToken ct);
    }

    public static void MapContactsApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/v1/contacts").WithTags("Contacts");

        g.MapPost("/", async Task<Results<Created<ContactDto>, Ok<ContactDto>>> (HttpContext http, ContactInput input, ContactService svc, TimeProvider clock, CancellationToken ct) =>
        {
            var (c, created) = await svc.UpsertAsync(http.Current(), input, ct);
            var dto = ContactDto.From(c, clock.GetUtcNow().UtcDateTime);
            return created ? TypedResults.Created($"/api/v1/contacts/{c.Id}", dto) : TypedResults.Ok(dto);
        }).RequireRole(Role.Editor);

        g.MapPost("/bulk", async (HttpContext http, BulkContactsInput input, ContactService svc, CancellationToken ct) =>
        {
            if (input.Contacts is null) throw ValidationFailedException.For("contacts", "Give the contacts as an array.");
            return TypedResults.Ok(await svc.BulkUpsertAsync(http.Current(), input.Contacts, ct));
        }).RequireRole(Role.Editor);

        g.MapGet("/", async (HttpContext http, string? q, string? tag, long? segmentId, long? listId, int? page, int? limit,
            ContactService svc, IEnumerable<IContactScope> scopes, CancellationToken ct) =>
        {
            var caller = http.Current();
            IQueryable<Contact>? scope = null;
            if (segmentId is not null || listId is not null)
            {
                var provider = scopes.FirstOrDefault() ?? throw ValidationFailedException.For(segmentId is not null ? "segmentId" : "listId", "Segments and lists are not available.");
                scope = await provider.ScopeAsync(caller, segmentId, listId, ct);
            }
            return TypedResults.Ok(await svc.SearchAsync(caller, q, tag, PageRequest.From(page, limit), scope, ct));
        }).RequireRole(Role.Viewer);

        g.MapGet("/{id:long}", async (HttpContext http, long id, ContactService svc, TimeProvider clock, CancellationToken ct) =>
            TypedResults.Ok(ContactDto.From(await svc.GetAsync(http.Current(), id, ct), clock.GetUtcNow().UtcDateTime)))
            .RequireRole(Role.Viewer);

        g.MapPatch("/{id:long}", async (HttpContext http, long id, ContactInput input, ContactService svc, TimeProvider clock, CancellationToken ct) =>
            TypedResults.Ok(ContactDto.From(await svc.PatchAsync(http.Current(), id, input, ct), clock.GetUtcNow().UtcDateTime)))
            .RequireRole(Role.Editor);

        g.MapDelete("/{id:long}", async (HttpContext http, long id, ContactService svc, CancellationToken ct) =>
        {
            await svc.EraseAsync(http.Current(), id, ct);
            return TypedResults.NoContent();
        }).RequireRole(Role.Editor);

        g.MapPost("/{id:long}/events", async (HttpContext http, long id, EventInput input, ContactService svc, CancellationToken ct) =>
        {
            var events = await svc.AddEventsAsync(http.Current(), id, [input], ct);
            return TypedResults.Created($"/api/v1/contacts/{id}/events", ContactService.ToDto(events[0]));
        }).RequireRole(Role.Editor);

        g.MapGet("/{id:long}/events", async (HttpContext http, long id, int? page, int? limit, ContactService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.ListEventsAsync(http.Current(), id, PageRequest.From(page, limit), ct)))
            .RequireRole(Role.Viewer);

        g.MapGet("/{id:long}/consent-history", async (HttpContext http, long id, ContactService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.ConsentHistoryAsync(http.Current(), id, ct)))
            .RequireRole(Role.Viewer);

        app.MapPost("/api/v1/events", async (HttpContext http, BulkEventsInput input, ContactService svc, CancellationToken ct) =>
        {
            if (input.Events is null) throw ValidationFailedException.For("events", "Give the events as an array.");
            return TypedResults.Ok(await svc.AddEventsByAddressAsync(http.Current(), input.Events, ct));
        }).RequireRole(Role.Editor).WithTags("Contacts");
    }
}
