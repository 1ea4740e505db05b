using System.Net;
using System.Text.RegularExpressions;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Assets;

/// <summary>The two ways in: the first-run setup page's box, and <c>--demo</c> / <c>Herald:Demo</c> at start.</summary>
public sealed class DemoStartTests
{
    [Fact]
    public async Task Setup_WithTheDemoBoxTicked_LoadsTheDemoIntoTheNewWorkspace()
    {
        var fresh = new HeraldApp();
        await fresh.InitializeAsync();
        try
        {
            var client = fresh.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
            var form = await client.GetStringAsync("/setup");
            Assert.Contains("name=\"demo\"", form);
            var token = Regex.Match(form, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;

            var setup = await client.PostAsync("/setup", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["__RequestVerificationToken"] = token, ["email"] = "owner@example.com", ["password"] = "correct horse", ["workspace"] = "Acme", ["demo"] = "on",
            }));

            Assert.Equal(HttpStatusCode.Redirect, setup.StatusCode);
            var contacts = await (await client.GetAsync("/api/v1/contacts?limit=1")).ExpectAsync(HttpStatusCode.OK);
            Assert.Equal(Herald.Assets.DemoData.DefaultContacts, contacts.GetProperty("total").GetInt32());
        }
        finally
        {
            await fresh.DisposeAsync();
        }
    }

    [Fact]
    public async Task Start_WithDemoSettingAndBootstrap_LoadsTheDemoOnce()
    {
        var app = new HeraldApp();
        app.Settings["Herald:Bootstrap:ApiKey"] = "demo-key";
        app.Settings["Herald:Demo"] = "true";
        await app.InitializeAsync();
        try
        {
            var client = app.ClientWithKey("demo-key");
            var campaigns = await (await client.GetAsync("/api/v1/campaigns")).ExpectAsync(HttpStatusCode.OK);
            Assert.Equal("Festive sale for VIP spenders", Assert.Single(campaigns.GetProperty("items").EnumerateArray()).GetProperty("name").GetString());
        }
        finally
        {
            await app.DisposeAsync();
        }
    }
}
