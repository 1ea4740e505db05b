using System.Net;
using System.Security.Cryptography;
using Herald.Channels;
using Herald.Channels.WebPush;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Channels;

/// <summary>The webpush provider against a local push service (Kestrel) speaking the Web Push protocol's HTTP side.</summary>
public sealed class WebPushTests(HeraldApp app) : IClassFixture<HeraldApp>, IAsyncLifetime
{
    private HttpSink _push = null!;

    public async Task InitializeAsync() => _push = await HttpSink.StartAsync();
    public async Task DisposeAsync() => await _push.DisposeAsync();

    private static (string Public, string Private) NewKeyPair()
    {
        using var ec = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var p = ec.ExportParameters(true);
        return (System.Buffers.Text.Base64Url.EncodeToString([4, .. p.Q.X!, .. p.Q.Y!]), System.Buffers.Text.Base64Url.EncodeToString(p.D!));
    }

    private static readonly (string Public, string Private) Vapid = NewKeyPair();

    private IChannelProvider Provider() => app.Services.GetRequiredService<WebPushChannel>().Create("webpush", "push",
        $$"""{"vapidSubject":"mailto:ops@shop.example","vapidPublicKey":"{{Vapid.Public}}","vapidPrivateKey":"{{Vapid.Private}}"}""");

    private async Task<(TestWorkspace Ws, long ContactId, string Endpoint)> ContactWithSubscriptionAsync(string name)
    {
        var ws = await app.CreateWorkspaceAsync();
        var c = await (await ws.Client().PostJsonAsync("/api/v1/contacts", new { email = $"{name}@example.com" })).ExpectAsync(HttpStatusCode.Created);
        var id = long.Parse(c.GetProperty("id").GetString()!);
        var endpoint = $"{_push.BaseUrl}/push/{name}";
        var browser = NewKeyPair();
        await (await ws.Client().PostJsonAsync($"/api/v1/contacts/{id}/push-subscriptions", new
        {
            endpoint, expirationTime = (long?)null,
            keys = new { p256dh = browser.Public, auth = System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16)) },
        })).ExpectAsync(HttpStatusCode.Created);
        return (ws, id, endpoint);
    }

    private static OutgoingMessage Push(TestWorkspace ws, long contactId, string address, long id = 1) =>
        new(id, ws.Id, 5, 50, contactId, ChannelNames.Push, address, new RenderedMessage { Title = "Flash sale", Body = "50% off for 2 hours", Url = "https://shop.example/flash" });

    [Fact]
    public async Task SendBatch_Accepted_PostsEncryptedPayloadWithVapidAndRecordsSuccess()
    {
        var (ws, contactId, endpoint) = await ContactWithSubscriptionAsync("ok");
        _push.Handler = (_, http) => { http.Response.StatusCode = 201; return Task.CompletedTask; };

        var r = Assert.Single(await Provider().SendBatchAsync([Push(ws, contactId, endpoint)], default));

        Assert.True(r.Succeeded, r.ErrorText);
        var req = Assert.Single(_push.Requests);
        Assert.Equal("/push/ok", req.Path);
        Assert.StartsWith("vapid t=", req.Headers["Authorization"]);
        Assert.Contains($"k={Vapid.Public}", req.Headers["Authorization"]);
        Assert.Equal("aes128gcm", req.Headers["Content-Encoding"]);
        Assert.Equal("86400", req.Headers["TTL"]);
        Assert.DoesNotContain("Flash sale", req.Body); // encrypted for the browser only
        Assert.NotNull(await app.WithDbAsync(db => db.Set<PushSubscription>().Where(s => s.Endpoint == endpoint).Select(s => s.LastSuccessAt).FirstAsync()));
    }

    [Fact]
    public async Task SendBatch_AddressIsContact_SendsToTheContactsSubscriptions()
    {
        var (ws, contactId, _) = await ContactWithSubscriptionAsync("bycontact");
        _push.Handler = (_, http) => { http.Response.StatusCode = 201; return Task.CompletedTask; };

        var r = Assert.Single(await Provider().SendBatchAsync([Push(ws, contactId, $"contact:{contactId}")], default));

        Assert.True(r.Succeeded, r.ErrorText);
        Assert.Equal("/push/bycontact", Assert.Single(_push.Requests).Path);
    }

    [Theory]
    [InlineData(410)]
    [InlineData(404)]
    public async Task SendBatch_SubscriptionGone_IsPermanentAndRemovesIt(int status)
    {
        var (ws, contactId, endpoint) = await ContactWithSubscriptionAsync($"gone{status}");
        _push.Handler = (_, http) => { http.Response.StatusCode = status; return Task.CompletedTask; };

        var r = Assert.Single(await Provider().SendBatchAsync([Push(ws, contactId, endpoint)], default));

        Assert.Equal(FailureKind.Permanent, r.Failure);
        Assert.False(await app.WithDbAsync(db => db.Set<PushSubscription>().AnyAsync(s => s.Endpoint == endpoint)));
    }

    [Fact]
    public async Task SendBatch_PushServiceThrottles_IsTransientAndKeepsSubscription()
    {
        var (ws, contactId, endpoint) = await ContactWithSubscriptionAsync("busy");
        _push.Handler = (_, http) => { http.Response.StatusCode = 429; http.Response.Headers.RetryAfter = "12"; return Task.CompletedTask; };

        var r = Assert.Single(await Provider().SendBatchAsync([Push(ws, contactId, endpoint)], default));

        Assert.Equal(FailureKind.Transient, r.Failure);
        Assert.Equal(TimeSpan.FromSeconds(12), r.RetryAfter);
        Assert.True(await app.WithDbAsync(db => db.Set<PushSubscription>().AnyAsync(s => s.Endpoint == endpoint)));
    }

    [Fact]
    public async Task SendBatch_NoSubscription_IsPermanent()
    {
        var ws = await app.CreateWorkspaceAsync();
        var r = Assert.Single(await Provider().SendBatchAsync([Push(ws, 999_999, "https://push.example/none")], default));
        Assert.Equal((FailureKind.Permanent, "no_subscription"), (r.Failure, r.ErrorCode));
    }

    [Fact]
    public async Task Subscriptions_UpsertListAndDelete()
    {
        var (ws, contactId, endpoint) = await ContactWithSubscriptionAsync("crud");
        var browser = NewKeyPair();
        var again = await ws.Client().PostJsonAsync($"/api/v1/contacts/{contactId}/push-subscriptions", new
        {
            endpoint, keys = new { p256dh = browser.Public, auth = System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16)) },
        });
        await again.ExpectAsync(HttpStatusCode.OK);
        var list = await (await ws.Client().GetAsync($"/api/v1/contacts/{contactId}/push-subscriptions")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(1, list.GetArrayLength());
        Assert.Equal(browser.Public, await app.WithDbAsync(db => db.Set<PushSubscription>().Where(s => s.Endpoint == endpoint).Select(s => s.P256dh).FirstAsync()));

        var bad = await ws.Client().PostJsonAsync($"/api/v1/contacts/{contactId}/push-subscriptions", new { endpoint, keys = new { p256dh = "short", auth = "x" } });
        var problem = await bad.ExpectAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("keys.p256dh", out _));

        await (await ws.Client().DeleteAsync($"/api/v1/contacts/{contactId}/push-subscriptions?endpoint={Uri.EscapeDataString(endpoint)}")).ExpectAsync(HttpStatusCode.NoContent);
        Assert.Equal(0, (await (await ws.Client().GetAsync($"/api/v1/contacts/{contactId}/push-subscriptions")).ExpectAsync(HttpStatusCode.OK)).GetArrayLength());
    }
}
