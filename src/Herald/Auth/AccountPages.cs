using System.Net;
using System.Security.Claims;
using Herald.Common;
using Herald.Workspaces;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;

namespace Herald.Auth;

/// <summary>
/// First-run setup, login, logout and workspace switching for dashboard users (cookie sign-in).
/// Plain server-rendered forms with antiforgery tokens; the dashboard links here.
/// </summary>
public static class AccountPages
{
    public static void MapAccountPages(this IEndpointRouteBuilder app)
    {
        app.MapGet("/setup", async (HttpContext http, WorkspaceService svc, IAntiforgery af, CancellationToken ct) =>
            await svc.AnyUserAsync(ct) ? Results.Redirect("/login") : Page("Set up Herald", SetupHtml(af.GetAndStoreTokens(http), null, Herald.Assets.DemoData.Requested(http.RequestServices.GetRequiredService<IConfiguration>()))))
            .ExcludeFromDescription();

        app.MapPost("/setup", async (HttpContext http, [FromForm] SetupForm form, WorkspaceService svc, IAntiforgery af, CancellationToken ct) =>
        {
            try
            {
                var (user, ws) = await svc.SetupAsync(form.Email ?? "", form.Password ?? "", form.Name, form.Workspace ?? "", form.Timezone, ct);
                if (form.Demo == "on") await http.RequestServices.GetRequiredService<Herald.Assets.DemoData>().LoadAsync(ws.Id, Herald.Assets.DemoData.DefaultContacts, ct);
                await SignInAsync(http, user, ws.Id, Role.Admin);
                return Results.Redirect("/");
            }
            catch (ValidationFailedException e)
            {
                return Page("Set up Herald", SetupHtml(af.GetAndStoreTokens(http), string.Join(" ", e.Errors.SelectMany(x => x.Value)), form.Demo == "on"), 400);
            }
            catch (ConflictException)
            {
                return Results.Redirect("/login");
            }
        }).ExcludeFromDescription().RequireRateLimiting(Hosting.HeraldRateLimits.Login);

        app.MapGet("/login", async (HttpContext http, WorkspaceService svc, IAntiforgery af, string? returnUrl, CancellationToken ct) =>
            !await svc.AnyUserAsync(ct) ? Results.Redirect("/setup") : Page("Sign in", LoginHtml(af.GetAndStoreTokens(http), null, returnUrl)))
            .ExcludeFromDescription();

        app.MapPost("/login", async (HttpContext http, [FromForm] LoginForm form, WorkspaceService svc, IAntiforgery af, CancellationToken ct) =>
        {
            var user = await svc.VerifyPasswordAsync(form.Email ?? "", form.Password ?? "", ct);
            var workspaces = user is null ? [] : await svc.ListForUserAsync(user.Id, ct);
            if (user is null || workspaces.Count == 0)
                return Page("Sign in", LoginHtml(af.GetAndStoreTokens(http), "Wrong email or password.", form.ReturnUrl), 401);
            var (ws, role) = workspaces[0];
            await SignInAsync(http, user, ws.Id, role);
            return Results.Redirect(IsLocal(form.ReturnUrl) ? form.ReturnUrl! : "/");
        }).ExcludeFromDescription().RequireRateLimiting(Hosting.HeraldRateLimits.Login);

        app.MapPost("/logout", async (HttpContext http) =>
        {
            await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.Redirect("/login");
        }).ExcludeFromDescription();

        // Switches the cookie to another workspace the user belongs to.
        app.MapPost("/account/workspace/{id:long}", async (HttpContext http, long id, WorkspaceService svc, CancellationToken ct) =>
        {
            var caller = Caller.From(http.User);
            if (caller?.UserId is not { } uid) return Results.Unauthorized();
            var match = (await svc.ListForUserAsync(uid, ct)).FirstOrDefault(x => x.Workspace.Id == id);
            if (match.Workspace is null) return Results.NotFound();
            await http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme,
                new ClaimsPrincipal(Caller.Identity(id, match.Role, $"user:{uid}", uid, CookieAuthenticationDefaults.AuthenticationScheme)));
            return Results.Redirect("/");
        }).RequireAuthorization().ExcludeFromDescription();
    }

    private static bool IsLocal(string? url) => !string.IsNullOrEmpty(url) && url.StartsWith('/') && !url.StartsWith("//") && !url.StartsWith("/\\");

    public static Task SignInAsync(HttpContext http, User user, long workspaceId, Role role) =>
        http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme,
            new ClaimsPrincipal(Caller.Identity(workspaceId, role, $"user:{user.Id}", user.Id, CookieAuthenticationDefaults.AuthenticationScheme)));

    public sealed class SetupForm
    {
        public string? Email { get; set; }
        public string? Password { get; set; }
        public string? Name { get; set; }
        public string? Workspace { get; set; }
        public string? Timezone { get; set; }
        /// <summary>"on" when the demo data box is ticked.</summary>
        public string? Demo { get; set; }
    }

    public sealed class LoginForm
    {
        public string? Email { get; set; }
        public string? Password { get; set; }
        public string? ReturnUrl { get; set; }
    }

    private static string E(string? s) => WebUtility.HtmlEncode(s ?? "");

    private static string Token(AntiforgeryTokenSet t) => $"<input type=\"hidden\" name=\"{E(t.FormFieldName)}\" value=\"{E(t.RequestToken)}\">";

    private static string Error(string? error) => error is null ? "" : $"<p role=\"alert\" class=\"error\">{E(error)}</p>";

    private static string SetupHtml(AntiforgeryTokenSet t, string? error, bool demo) => $"""
        <h1>Welcome to Herald</h1><p>Create the administrator account and your first workspace.</p>{Error(error)}
        <form method="post" action="/setup">{Token(t)}
        <label>Your name <input name="name" autocomplete="name"></label>
        <label>Email <input name="email" type="email" required autocomplete="email"></label>
        <label>Password (8+ characters) <input name="password" type="password" minlength="8" required autocomplete="new-password"></label>
        <label>Workspace name <input name="workspace" required value="My company"></label>
        <label>Timezone <input name="timezone" value="UTC" placeholder="e.g. Asia/Kolkata"></label>
        <label><input type="checkbox" name="demo" style="display:inline;width:auto"{(demo ? " checked" : "")}> Load demo data (sample contacts, orders, segments, templates and a draft campaign)</label>
        <button type="submit">Create and continue</button></form>
        """;

    private static string LoginHtml(AntiforgeryTokenSet t, string? error, string? returnUrl) => $"""
        <h1>Sign in to Herald</h1>{Error(error)}
        <form method="post" action="/login">{Token(t)}<input type="hidden" name="returnUrl" value="{E(returnUrl)}">
        <label>Email <input name="email" type="email" required autocomplete="username"></label>
        <label>Password <input name="password" type="password" required autocomplete="current-password"></label>
        <button type="submit">Sign in</button></form>
        """;

    private static IResult Page(string title, string body, int status = 200) => Results.Content($$"""
        <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{E(title)}} · Herald</title>
        <style>body{font-family:Roboto,system-ui,sans-serif;margin:0;background:#eef0f7;color:#1b1b1f}
        header{background:#283593;color:#fff;padding:1rem 1.5rem;font-size:1.25rem;font-weight:500}
        main{max-width:26rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15)}
        h1{font-size:1.6rem;font-weight:500;margin:0 0 .5rem}
        label{display:block;margin:.9rem 0;font-size:.95rem}input{display:block;width:100%;padding:.6rem;margin-top:.3rem;box-sizing:border-box;border:1px solid #8a8a8a;border-radius:4px;font-size:1rem}
        input:focus-visible,button:focus-visible{outline:3px solid #ff9800;outline-offset:2px}
        button{margin-top:1.2rem;padding:.7rem 1.4rem;background:#3949ab;color:#fff;border:0;border-radius:4px;font-size:1rem;cursor:pointer}
        .error{color:#b00020;background:#fdecea;padding:.6rem .8rem;border-radius:4px}</style>
        </head><body><header>Herald</header><main>{{body}}</main></body></html>
        """, "text/html; charset=utf-8", statusCode: status);
}
