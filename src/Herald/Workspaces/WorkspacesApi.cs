using Herald.Auth;
using Herald.Common;

namespace Herald.Workspaces;

/// <summary>/api/v1/workspace(s), /api/v1/users, /api/v1/api-keys.</summary>
public static class WorkspacesApi
{
    public static void MapWorkspacesApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/v1").WithTags("Workspace");

        g.MapGet("/workspace", async (HttpContext http, WorkspaceService svc, CancellationToken ct) =>
        {
            var caller = http.Current();
            return TypedResults.Ok(WorkspaceService.ToDto(await svc.GetAsync(caller.WorkspaceId, ct), caller.Role));
        }).RequireRole(Role.Viewer);

        g.MapPut("/workspace", async (HttpContext http, WorkspaceInput input, WorkspaceService svc, CancellationToken ct) =>
            TypedResults.Ok(WorkspaceService.ToDto(await svc.UpdateAsync(http.Current(), input, ct))))
            .RequireRole(Role.Admin);

        g.MapPost("/workspaces", async (HttpContext http, WorkspaceInput input, WorkspaceService svc, CancellationToken ct) =>
        {
            var caller = http.Current();
            var userId = caller.UserId ?? throw new ForbiddenException("Creating a workspace needs a key created by a user, or a logged-in user.");
            var w = await svc.CreateAsync(caller, userId, input, ct);
            return TypedResults.Created($"/api/v1/workspaces/{w.Id}", WorkspaceService.ToDto(w, Role.Admin));
        }).RequireRole(Role.Admin);

        g.MapGet("/workspaces", async (HttpContext http, WorkspaceService svc, CancellationToken ct) =>
        {
            var caller = http.Current();
            if (caller.UserId is not { } uid)
            {
                var w = await svc.GetAsync(caller.WorkspaceId, ct);
                return TypedResults.Ok(new Paged<WorkspaceDto>([WorkspaceService.ToDto(w, caller.Role)], 1, 1, 1));
            }
            var list = await svc.ListForUserAsync(uid, ct);
            return TypedResults.Ok(new Paged<WorkspaceDto>(list.Select(x => WorkspaceService.ToDto(x.Workspace, x.Role)).ToList(), list.Count, 1, list.Count));
        }).RequireRole(Role.Viewer);

        g.MapGet("/users", async (HttpContext http, WorkspaceService svc, CancellationToken ct) =>
        {
            var list = await svc.ListMembersAsync(http.Current(), ct);
            return TypedResults.Ok(new Paged<UserDto>(list, list.Count, 1, list.Count));
        }).RequireRole(Role.Viewer);

        g.MapPost("/users", async (HttpContext http, UserInput input, WorkspaceService svc, CancellationToken ct) =>
        {
            var u = await svc.AddMemberAsync(http.Current(), input, ct);
            return TypedResults.Created($"/api/v1/users/{u.Id}", u);
        }).RequireRole(Role.Admin);

        g.MapPatch("/users/{id:long}", async (HttpContext http, long id, UserInput input, WorkspaceService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.ChangeRoleAsync(http.Current(), id, input, ct))).RequireRole(Role.Admin);

        g.MapDelete("/users/{id:long}", async (HttpContext http, long id, WorkspaceService svc, CancellationToken ct) =>
        {
            await svc.RemoveMemberAsync(http.Current(), id, ct);
            return TypedResults.NoContent();
        }).RequireRole(Role.Admin);

        g.MapGet("/api-keys", async (HttpContext http, WorkspaceService svc, CancellationToken ct) =>
        {
            var list = await svc.ListKeysAsync(http.Current(), ct);
            return TypedResults.Ok(new Paged<ApiKeyDto>(list, list.Count, 1, list.Count));
        }).RequireRole(Role.Admin);

        g.MapPost("/api-keys", async (HttpContext http, ApiKeyInput input, WorkspaceService svc, CancellationToken ct) =>
        {
            var k = await svc.CreateKeyAsync(http.Current(), input, ct);
            return TypedResults.Created($"/api/v1/api-keys/{k.Id}", k);
        }).RequireRole(Role.Admin);

        g.MapDelete("/api-keys/{id:long}", async (HttpContext http, long id, WorkspaceService svc, CancellationToken ct) =>
        {
            await svc.RevokeKeyAsync(http.Current(), id, ct);
            return TypedResults.NoContent();
        }).RequireRole(Role.Admin);
    }
}
