using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;

namespace Herald.Auth;

/// <summary>Wires API-key and cookie authentication behind one policy scheme, and the role policies.</summary>
public static class AuthSetup
{
    public const string Scheme = "Herald";

    public static string PolicyFor(Role role) => "role:" + role.ToString().ToLowerInvariant();

    public static IServiceCollection AddHeraldAuth(this IServiceCollection services)
    {
        services.AddAuthentication(Scheme)
            .AddPolicyScheme(Scheme, "API key or cookie", o => o.ForwardDefaultSelector = http =>
                ApiKeyAuthenticationHandler.ReadKey(http.Request) is not null ? ApiKeyAuthenticationHandler.SchemeName : CookieAuthenticationDefaults.AuthenticationScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddCookie(CookieAuthenticationDefaults.AuthenticationScheme, o =>
            {
                o.Cookie.Name = "herald";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.LoginPath = "/login";
                o.SlidingExpiration = true;
                o.ExpireTimeSpan = TimeSpan.FromDays(7);
                // The API answers 401/403 instead of redirecting to the login page.
                o.Events.OnRedirectToLogin = ctx => Redirect(ctx, 401);
                o.Events.OnRedirectToAccessDenied = ctx => Redirect(ctx, 403);
            });

        services.AddAuthorizationBuilder().Also(b =>
        {
            foreach (var role in Enum.GetValues<Role>())
                b.AddPolicy(PolicyFor(role), p => p.RequireAuthenticatedUser().AddRequirements(new RoleRequirement(role)));
        });
        services.AddSingleton<IAuthorizationHandler, RoleRequirementHandler>();
        return services;
    }

    private static Task Redirect(RedirectContext<CookieAuthenticationOptions> ctx, int status)
    {
        if (ctx.Request.Path.StartsWithSegments("/api") || ctx.Request.Path.StartsWithSegments("/hubs"))
        {
            ctx.Response.StatusCode = status;
            return Task.CompletedTask;
        }
        ctx.Response.Redirect(ctx.RedirectUri);
        return Task.CompletedTask;
    }

    private static AuthorizationBuilder Also(this AuthorizationBuilder b, Action<AuthorizationBuilder> configure)
    {
        configure(b);
        return b;
    }

    /// <summary>Requires at least <paramref name="role"/> in the caller's workspace.</summary>
    public static TBuilder RequireRole<TBuilder>(this TBuilder builder, Role role) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(PolicyFor(role));
}

internal sealed record RoleRequirement(Role Role) : IAuthorizationRequirement;

internal sealed class RoleRequirementHandler : AuthorizationHandler<RoleRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, RoleRequirement requirement)
    {
        if (Caller.From(context.User) is { } caller && caller.Can(requirement.Role)) context.Succeed(requirement);
        return Task.CompletedTask;
    }
}
