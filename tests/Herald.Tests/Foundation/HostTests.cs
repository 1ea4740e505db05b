using System.Net;
using System.Text.RegularExpressions;
using Herald.Auth;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Herald.Tests.Foundation;

public sealed class HostTests(HeraldApp app) : IClassFixture<HeraldApp>
{
    [Fact]
    public async Task HealthReady_ReportsTheDatabaseAndMigrations()
    {
        var r = await app.CreateClient().GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await app.CreateClient().GetAsync("/health/live")).StatusCode);
        var applied = await app.WithDbAsync(async db => (await db.Database.GetAppliedMigrationsAsync()).Count());
        Assert.True(applied >= 1);
    }

    [Fact]
    public async Task OpenApiDocsAndMetrics_AreServed()
    {
        var doc = await (await app.CreateClient().GetAsync("/openapi/v1.json")).ExpectAsync(HttpStatusCode.OK);
        Assert.True(doc.GetProperty("paths").TryGetProperty("/api/v1/contacts", out _));
        Assert.Equal(HttpStatusCode.OK, (await app.CreateClient().GetAsync("/docs")).StatusCode);
        var metrics = await (await app.CreateClient().GetAsync("/metrics")).Content.ReadAsStringAsync();
        Assert.Contains("# TYPE", metrics);
    }

    [Fact]
    public async Task ApiKeys_ShownOnce_StoredHashed_Revocable()
    {
        var ws = await app.CreateWorkspaceAsync();
        var created = await (await ws.Client().PostJsonAsync("/api/v1/api-keys", new { name = "etl", role = "editor" })).ExpectAsync(HttpStatusCode.Created);
        var key = created.GetProperty("key").GetString()!;
        var id = created.GetProperty("id").GetString()!;
        Assert.StartsWith(created.GetProperty("prefix").GetString()!, key);
        var stored = await app.WithDbAsync(db => db.ApiKeys.SingleAsync(k => k.Id == long.Parse(id)));
        Assert.NotEqual(key, stored.Hash);
        Assert.DoesNotContain(key, stored.Hash);
        var list = await (await ws.Client().GetAsync("/api/v1/api-keys")).Content.ReadAsStringAsync();
        Assert.DoesNotContain(key, list);
        Assert.Equal(HttpStatusCode.Created, (await app.ClientWithKey(key).PostJsonAsync("/api/v1/contacts", new { email = "k@example.com" })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await ws.Client().DeleteAsync($"/api/v1/api-keys/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.ClientWithKey(key).GetAsync("/api/v1/contacts")).StatusCode);
        var used = await app.WithDbAsync(db => db.ApiKeys.SingleAsync(k => k.Id == long.Parse(id)));
        Assert.NotNull(used.LastUsedAt);
    }

    [Fact]
    public async Task XApiKeyHeader_IsAcceptedLikeBearer()
    {
        var ws = await app.CreateWorkspaceAsync();
        var c = app.ClientWithKey(null);
        c.DefaultRequestHeaders.Add("X-Api-Key", ws.Keys[Role.Viewer]);
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("/api/v1/workspace")).StatusCode);
    }

    [Fact]
    public async Task Workspace_Settings_ValidatedAndSaved()
    {
        var ws = await app.CreateWorkspaceAsync();
        var bad = await (await ws.Client().PutJsonAsync("/api/v1/workspace", new { timezone = "Nowhere/City", dailyLimits = new { fax = 10 } })).ExpectAsync(HttpStatusCode.BadRequest);
        Assert.True(bad.GetProperty("errors").TryGetProperty("timezone", out _));
        Assert.True(bad.GetProperty("errors").TryGetProperty("dailyLimits.fax", out _));
        var ok = await (await ws.Client().PutJsonAsync("/api/v1/workspace", new
        {
            timezone = "Asia/Kolkata", defaultPhoneRegion = "IN", approvalRequired = true, dailyLimits = new { sms = 1000 },
            frequencyCap = new { max = 3, periodDays = 7 }, quietHours = new { start = "21:00", end = "09:00", timezone = "recipient" },
        })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("Asia/Kolkata", ok.GetProperty("timezone").GetString());
        Assert.Equal(1000, ok.GetProperty("dailyLimits").GetProperty("sms").GetInt32());
        Assert.True(ok.GetProperty("approvalRequired").GetBoolean());
        Assert.Equal(HttpStatusCode.Forbidden, (await ws.Client(Role.Approver).PutJsonAsync("/api/v1/workspace", new { name = "x" })).StatusCode);
    }

    [Fact]
    public async Task Users_AddChangeRemove_KeepsOneAdmin()
    {
        var ws = await app.CreateWorkspaceAsync();
        var added = await (await ws.Client().PostJsonAsync("/api/v1/users", new { email = "new.user@example.com", password = "longenough", role = "editor" })).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal("editor", added.GetProperty("role").GetString());
        var id = added.GetProperty("id").GetString();
        var changed = await (await ws.Client().PatchJsonAsync($"/api/v1/users/{id}", new { role = "approver" })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("approver", changed.GetProperty("role").GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await ws.Client().DeleteAsync($"/api/v1/users/{id}")).StatusCode);
        var adminId = ws.UserIds[Role.Admin];
        await (await ws.Client().PatchJsonAsync($"/api/v1/users/{adminId}", new { role = "viewer" })).ExpectAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task SetupThenLogin_GivesACookieThatCallsTheApi()
    {
        var fresh = new HeraldApp();
        await fresh.InitializeAsync();
        try
        {
            var client = fresh.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
            Assert.Equal("/setup", (await client.GetAsync("/login")).Headers.Location?.OriginalString);
            var form = await client.GetStringAsync("/setup");
            var token = Regex.Match(form, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
            var setup = await client.PostAsync("/setup", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["__RequestVerificationToken"] = token, ["email"] = "owner@example.com", ["password"] = "correct horse", ["workspace"] = "Acme", ["timezone"] = "Asia/Kolkata",
            }));
            Assert.Equal(HttpStatusCode.Redirect, setup.StatusCode);
            var me = await (await client.GetAsync("/api/v1/workspace")).ExpectAsync(HttpStatusCode.OK);
            Assert.Equal("Acme", me.GetProperty("name").GetString());
            Assert.Equal("admin", me.GetProperty("role").GetString());
            // Setup is closed once a user exists.
            Assert.Equal("/login", (await client.GetAsync("/setup")).Headers.Location?.OriginalString);

            var other = fresh.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
            var loginForm = await other.GetStringAsync("/login");
            var t2 = Regex.Match(loginForm, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
            var wrong = await other.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = t2, ["email"] = "owner@example.com", ["password"] = "wrong password" }));
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await other.GetAsync("/api/v1/workspace")).StatusCode);
            var right = await other.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = t2, ["email"] = "OWNER@example.com", ["password"] = "correct horse" }));
            Assert.Equal(HttpStatusCode.Redirect, right.StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("/api/v1/workspace")).StatusCode);
        }
        finally
        {
            await fresh.DisposeAsync();
        }
    }
}

public sealed class BootstrapTests : IAsyncLifetime
{
    private readonly HeraldApp _app = new();

    public BootstrapTests()
    {
        _app.Settings["Herald:Bootstrap:ApiKey"] = "k";
        _app.Settings["Herald:Bootstrap:AdminEmail"] = "boot@example.com";
        _app.Settings["Herald:Bootstrap:AdminPassword"] = "bootstrap-pw";
    }

    public Task InitializeAsync() => _app.InitializeAsync();
    public Task DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public async Task BootstrapKey_CreatesAdminWorkspaceAndHashedKey()
    {
        var c = _app.ClientWithKey("k");
        var ws = await (await c.GetAsync("/api/v1/workspace")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("default", ws.GetProperty("name").GetString());
        Assert.Equal(HttpStatusCode.Created, (await c.PostJsonAsync("/api/v1/contacts", new { email = "first@example.com" })).StatusCode);
        var key = await _app.WithDbAsync(db => db.ApiKeys.SingleAsync());
        Assert.NotEqual("k", key.Hash);
        Assert.Equal(Role.Admin, key.Role);
        Assert.True(await _app.WithDbAsync(db => db.Users.AnyAsync(u => u.Email == "boot@example.com" && u.PasswordHash != null)));
    }
}
