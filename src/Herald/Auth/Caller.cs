using System.Security.Claims;

namespace Herald.Auth;

/// <summary>Claim names Herald puts on an authenticated principal.</summary>
public static class HeraldClaims
{
    public const string Workspace = "herald:ws";
    public const string Role = "herald:role";
    public const string Actor = "herald:actor";
    public const string UserId = "herald:uid";
}

/// <summary>Who is calling: workspace, role and actor, read from the authenticated principal.</summary>
public sealed record Caller(long WorkspaceId, Role Role, string Actor, long? UserId)
{
    public static Caller? From(ClaimsPrincipal user)
    {
        if (user.Identity?.IsAuthenticated != true) return null;
        if (!long.TryParse(user.FindFirstValue(HeraldClaims.Workspace), out var ws)) return null;
        if (!Enum.TryParse<Role>(user.FindFirstValue(HeraldClaims.Role), out var role)) return null;
        long? uid = long.TryParse(user.FindFirstValue(HeraldClaims.UserId), out var u) ? u : null;
        return new Caller(ws, role, user.FindFirstValue(HeraldClaims.Actor) ?? "unknown", uid);
    }

    public bool Can(Role needed) => Role >= needed;

    /// <summary>A system caller for background work and bootstrap.</summary>
    public static Caller SystemFor(long workspaceId) => new(workspaceId, Role.Admin, "system", null);

    public static ClaimsIdentity Identity(long workspaceId, Role role, string actor, long? userId, string scheme)
    {
        var claims = new List<Claim>
        {
            new(HeraldClaims.Workspace, workspaceId.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new(HeraldClaims.Role, role.ToString()),
            new(HeraldClaims.Actor, actor),
        };
        if (userId is { } id) claims.Add(new(HeraldClaims.UserId, id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return new ClaimsIdentity(claims, scheme);
    }
}

/// <summary>Binds the current <see cref="Caller"/> as an endpoint parameter.</summary>
public static class CallerBinding
{
    public static Caller Current(this HttpContext http) =>
        Caller.From(http.User) ?? throw new UnauthorizedAccessException("No authenticated caller.");
}
