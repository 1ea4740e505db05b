using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.Channels;

/// <summary>A real Kestrel server on a loopback port that records requests and answers with a handler.</summary>
public sealed class HttpSink : IAsyncDisposable
{
    /// <summary>A received request; <see cref="Raw"/> is the body as sent (binary for push payloads), <see cref="Body"/> the same read as UTF-8.</summary>
    public sealed record Request(string Method, string Path, IReadOnlyDictionary<string, string> Headers, string Body, byte[] Raw);

    private readonly WebApplication _app;
    public ConcurrentQueue<Request> Requests { get; } = new();
    /// <summary>Decides the answer (status) for each request; default 200.</summary>
    public Func<Request, HttpContext, Task>? Handler { get; set; }
    public string BaseUrl { get; }

    private HttpSink(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public static async Task<HttpSink> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        HttpSink? sink = null;
        app.Run(async http =>
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer);
            var raw = buffer.ToArray();
            var req = new Request(http.Request.Method, http.Request.Path + http.Request.QueryString,
                http.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), System.Text.Encoding.UTF8.GetString(raw), raw);
            sink!.Requests.Enqueue(req);
            if (sink.Handler is { } h) await h(req, http);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        sink = new HttpSink(app, address);
        return sink;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    /// <summary>
    /// What a webhook receiver does with <c>X-Herald-Signature: t=..,v1=..</c>: recompute HMAC-SHA256 over
    /// "t.body" with the shared secret, compare, and refuse timestamps more than five minutes off.
    /// Written out from API.md, independently of the provider's own code.
    /// </summary>
    public static bool HeraldSignatureValid(string secret, string? header, string body)
    {
        if (header is null) return false;
        var parts = header.Split(',').Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0].Trim(), p => p[1].Trim());
        if (!parts.TryGetValue("t", out var ts) || !parts.TryGetValue("v1", out var v1) || !long.TryParse(ts, out var t)) return false;
        if (Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - t) > 300) return false;
        using var h = new System.Security.Cryptography.HMACSHA256(System.Text.Encoding.UTF8.GetBytes(secret));
        return Convert.ToHexString(h.ComputeHash(System.Text.Encoding.UTF8.GetBytes($"{t}.{body}"))).ToLowerInvariant() == v1;
    }
}
