using System.Text.Json;
using Herald.Channels;
using Herald.Channels.Webhook;

namespace Herald.Tests.Channels;

/// <summary>The webhook provider against a real Kestrel receiver that checks the signature as a customer would.</summary>
public sealed class WebhookProviderTests : IAsyncLifetime
{
    private HttpSink _sink = null!;
    private const string Secret = "whsec-0123456789abcdef";

    public async Task InitializeAsync() => _sink = await HttpSink.StartAsync();
    public async Task DisposeAsync() => await _sink.DisposeAsync();

    private WebhookProvider Provider(TimeSpan? timeout = null, string? url = null) => new(
        new WebhookSettings { Url = url ?? _sink.BaseUrl + "/hooks/herald", Secret = Secret, Headers = new() { ["X-Api-Key"] = "receiver-key" } },
        new HttpClient { Timeout = timeout ?? TimeSpan.FromSeconds(10) }, TimeProvider.System);

    private static OutgoingMessage Hook(long id, string body) =>
        new(id, 1, 8, 80, 300 + id, ChannelNames.Webhook, "", new RenderedMessage { Body = body });

    private static bool ReceiverAccepts(string header, string body) => HttpSink.HeraldSignatureValid(Secret, header, body);

    [Fact]
    public async Task SendBatch_Posts_SignedJsonWithMessageIdAndConfiguredHeaders()
    {
        var r = Assert.Single(await Provider().SendBatchAsync([Hook(42, """{"event":"sale","discount":50}""")], default));

        Assert.True(r.Succeeded, r.ErrorText);
        var req = Assert.Single(_sink.Requests);
        Assert.Equal(("POST", "/hooks/herald"), (req.Method, req.Path));
        Assert.Equal("""{"event":"sale","discount":50}""", req.Body);
        Assert.StartsWith("application/json", req.Headers["Content-Type"]);
        Assert.Equal("42", req.Headers["X-Message-Id"]);
        Assert.Equal("receiver-key", req.Headers["X-Api-Key"]);
        Assert.True(ReceiverAccepts(req.Headers["X-Herald-Signature"], req.Body));
        Assert.False(ReceiverAccepts(req.Headers["X-Herald-Signature"], req.Body.Replace("50", "90")));
    }

    [Fact]
    public async Task SendBatch_NonJsonBody_SendsAnEnvelope()
    {
        await Provider().SendBatchAsync([Hook(7, "plain words")], default);

        var body = JsonDocument.Parse(Assert.Single(_sink.Requests).Body).RootElement;
        Assert.Equal(7, body.GetProperty("deliveryId").GetInt64());
        Assert.Equal("plain words", body.GetProperty("body").GetString());
    }

    [Theory]
    [InlineData(400, FailureKind.Permanent)]
    [InlineData(404, FailureKind.Permanent)]
    [InlineData(429, FailureKind.Transient)]
    [InlineData(500, FailureKind.Transient)]
    [InlineData(503, FailureKind.Transient)]
    public async Task SendBatch_ReceiverStatus_IsClassified(int status, FailureKind kind)
    {
        _sink.Handler = (_, http) =>
        {
            http.Response.StatusCode = status;
            if (status == 429) http.Response.Headers.RetryAfter = "30";
            return Task.CompletedTask;
        };

        var r = Assert.Single(await Provider().SendBatchAsync([Hook(1, "{}")], default));

        Assert.Equal(kind, r.Failure);
        Assert.Equal($"http_{status}", r.ErrorCode);
        if (status == 429) Assert.Equal(TimeSpan.FromSeconds(30), r.RetryAfter);
    }

    [Fact]
    public async Task SendBatch_SlowReceiver_TimesOutAsTransient()
    {
        _sink.Handler = async (_, http) => await Task.Delay(TimeSpan.FromSeconds(5), http.RequestAborted);

        var r = Assert.Single(await Provider(timeout: TimeSpan.FromMilliseconds(300)).SendBatchAsync([Hook(1, "{}")], default));

        Assert.Equal(FailureKind.Transient, r.Failure);
        Assert.Equal("timeout", r.ErrorCode);
    }

    [Fact]
    public async Task SendBatch_NobodyListening_IsTransient()
    {
        var r = Assert.Single(await Provider(url: $"http://127.0.0.1:{SmtpSink.FreePort()}/x").SendBatchAsync([Hook(1, "{}")], default));

        Assert.Equal(FailureKind.Transient, r.Failure);
    }
}
