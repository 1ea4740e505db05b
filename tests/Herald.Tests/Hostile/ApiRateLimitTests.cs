using System.Net;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Hostile;

/// <summary>A host with tight limits so a test can reach them: 3 sign-ins a minute, 5 anonymous requests a second.</summary>
public sealed class RateLimitedApp : HeraldApp
{
    public RateLimitedApp()
    {
        Settings["Herald:RateLimits:LoginPerMinute"] = "3";
        Settings["Herald:RateLimits:PublicPerSecond"] = "5";
        Settings["Herald:RateLimits:PublicBurst"] = "5";
    }
}

/// <summary>Password guessing and floods of the public endpoints answer 429 problem+json with Retry-After; the API itself is not limited.</summary>
public sealed class ApiRateLimitTests(RateLimitedApp app) : IClassFixture<RateLimitedApp>
{
    private static async Task AssertTooManyAsync(HttpResponseMessage r)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        Assert.True(r.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "no Retry-After");
        Assert.Contains("Too many requests", await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Login_FourthAttemptInAMinute_Answers429()
    {
        await app.CreateWorkspaceAsync();
        var client = app.ClientWithKey(null);
        Task<HttpResponseMessage> Post() => client.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["email"] = "x@example.com", ["password"] = "guess" }));
        for (var i = 0; i < 3; i++) Assert.NotEqual(HttpStatusCode.TooManyRequests, (await Post()).StatusCode);
        await AssertTooManyAsync(await Post());
        // The API (keys, not passwords) is not held by the sign-in limit.
        var ws = await app.CreateWorkspaceAsync("api");
        Assert.Equal(HttpStatusCode.OK, (await ws.Client().GetAsync("/api/v1/contacts")).StatusCode);
    }

    [Fact]
    public async Task ProviderWebhooks_Flood_Answers429AfterTheBurst()
    {
        var client = app.ClientWithKey(null);
        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 12; i++)
            answers.Add(await client.PostAsync("/webhooks/twilio/status", new FormUrlEncodedContent(new Dictionary<string, string> { ["MessageSid"] = "SM1", ["MessageStatus"] = "delivered" })));
        Assert.All(answers.Take(5), r => Assert.NotEqual(HttpStatusCode.TooManyRequests, r.StatusCode));
        Assert.Contains(answers.Skip(5), r => r.StatusCode == HttpStatusCode.TooManyRequests);
        await AssertTooManyAsync(answers.Last(r => r.StatusCode == HttpStatusCode.TooManyRequests));
    }
}
