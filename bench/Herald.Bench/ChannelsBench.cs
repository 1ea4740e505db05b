using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Herald.Channels;
using Herald.Channels.Smtp;
using Herald.Channels.Webhook;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmtpServer;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace Herald.Bench;

/// <summary>
/// Channel provider throughput against local sinks: SMTP through the pooled provider to an SmtpServer
/// sink in a child process (<c>--sink inproc</c> keeps it in this one), and the webhook (HTTP) provider
/// to a Kestrel sink in this process. Each line reports the CPU the client (and the SMTP sink) spent
/// per message, so a figure on a busy machine can be read against the work it took.
/// Options: --messages 20000 --batch 500 --connections 8[,16,...] --sink process|inproc --http-messages 20000 --only smtp|http --text (plain-text email)
/// </summary>
public sealed class ChannelsBench : IBenchCommand
{
    public string Name => "channels";
    public string Description => "SMTP (pooled) and webhook (HTTP) provider throughput to local sinks";

    private static readonly RenderedMessage Content = new()
    {
        Subject = "Winter sale: up to 50% off",
        Html = "<html><body><h1>Winter sale</h1><p>Hi Asha, up to <b>50%</b> off everything until Sunday.</p>" +
               "<p><a href=\"https://herald.test/t/c/abc\">Shop now</a></p><img src=\"https://herald.test/t/o/abc\" width=\"1\" height=\"1\"></body></html>",
        UnsubscribeUrl = "https://herald.test/u/abc",
    };

    public async Task<int> RunAsync(BenchArgs args)
    {
        var only = args.Get("only", "");
        if (only is "" or "smtp")
        {
            var content = args.Has("text") ? new RenderedMessage { Subject = Content.Subject, Text = "Hi Asha, up to 50% off everything until Sunday." } : Content;
            if (args.Has("breakdown")) await BreakdownAsync(args.Get("messages", 20_000), content);
            // --connections 8,16,32 measures each pool size in turn against the same sink.
            await using var sink = args.Get("sink", "process") == "inproc" ? (ISmtpSink)new InProcessSink() : await ChildProcessSink.StartAsync();
            foreach (var connections in args.Get("connections", "8").Split(',').Select(int.Parse))
                await SmtpAsync(sink, args.Get("messages", 20_000), args.Get("batch", 500), connections, content);
        }
        if (only is "" or "http")
            await HttpAsync(args.Get("http-messages", 20_000), args.Get("batch", 500));
        return 0;
    }

    private static async Task SmtpAsync(ISmtpSink sink, int messages, int batchSize, int connections, RenderedMessage content)
    {
        var settings = new SmtpSettings
        {
            Host = "127.0.0.1", Port = sink.Port, Security = "none", FromEmail = "news@shop.example", FromName = "Shop", MaxConnections = connections,
        };
        await using var provider = new SmtpProvider(settings, TimeProvider.System);
        await SendAsync(provider, Math.Min(1000, messages), batchSize, ChannelNames.Email, i => $"warm{i}@example.com", 0, content); // warm-up: JIT, connections
        var before = await sink.CountAsync();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var (elapsed, failed) = await SendAsync(provider, messages, batchSize, ChannelNames.Email, i => $"user{i}@example.com", 1_000_000, content);
        var clientCpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        var after = await sink.CountAsync();
        var sinkCpu = sink.SeparateProcess ? $", sink CPU {(after.CpuMs - before.CpuMs) * 1000 / messages:F0} µs/msg" : " (sink in this process)";
        Console.WriteLine($"smtp: {messages} messages in {elapsed.TotalSeconds:F2} s = {messages / elapsed.TotalSeconds:F0} msg/s " +
                          $"(batch {batchSize}, maxConnections {connections}, connections opened {provider.Pool.Opened}, sink sessions {after.Sessions}, " +
                          $"received {after.Messages - before.Messages}, failed {failed}; client CPU {clientCpu.TotalMicroseconds / messages:F0} µs/msg{sinkCpu})");
    }

    /// <summary>
    /// Where the client's CPU goes per message, on one thread with no network: building the MimeMessage,
    /// preparing it for 8BITMIME (choosing transfer encodings) and formatting it, which MailKit does twice
    /// when the server advertises SIZE (once to measure, once for DATA).
    /// </summary>
    private static async Task BreakdownAsync(int messages, RenderedMessage content)
    {
        await using var provider = new SmtpProvider(new SmtpSettings { Host = "127.0.0.1", FromEmail = "news@shop.example", FromName = "Shop" }, TimeProvider.System);
        var format = MimeKit.FormatOptions.Default.Clone();
        format.NewLineFormat = MimeKit.NewLineFormat.Dos;
        double Measure(Action<MimeKit.MimeMessage> after)
        {
            // CPU time, not wall time: on a busy machine the thread waits for a core between steps.
            for (var i = 0; i < messages / 4; i++) after(provider.Build(new OutgoingMessage(i, 1, 1, 1, i, ChannelNames.Email, $"user{i}@example.com", content)));
            var cpu = ThreadCpu();
            for (var i = 0; i < messages; i++) after(provider.Build(new OutgoingMessage(i, 1, 1, 1, i, ChannelNames.Email, $"user{i}@example.com", content)));
            return (ThreadCpu() - cpu).TotalMicroseconds / messages;
        }
        Measure(m => { m.Prepare(MimeKit.EncodingConstraint.EightBit, 998); m.WriteTo(format, Stream.Null); }); // JIT to the optimized tier
        var htmlToText = 0.0;
        if (content.Html is { } html && content.Text is null)
        {
            for (var i = 0; i < 1000; i++) HtmlToText.Convert(html);
            var cpu = ThreadCpu();
            for (var i = 0; i < messages; i++) HtmlToText.Convert(html);
            htmlToText = (ThreadCpu() - cpu).TotalMicroseconds / messages;
        }
        var build = Measure(_ => { });
        var prepared = Measure(m => m.Prepare(MimeKit.EncodingConstraint.EightBit, 998));
        var once = Measure(m => { m.Prepare(MimeKit.EncodingConstraint.EightBit, 998); m.WriteTo(format, Stream.Null); });
        var twice = Measure(m => { m.Prepare(MimeKit.EncodingConstraint.EightBit, 998); m.WriteTo(format, Stream.Null); m.WriteTo(format, Stream.Null); });
        Console.WriteLine($"smtp client CPU per message, one thread: build {build:F1} µs (of which text from HTML {htmlToText:F1} µs), +prepare {prepared - build:F1} µs, +format {once - prepared:F1} µs, " +
                          $"+format again (SIZE) {twice - once:F1} µs = {twice:F1} µs");
    }

    /// <summary>CPU time of the calling thread (Linux CLOCK_THREAD_CPUTIME_ID): other threads and waiting for a core do not count.</summary>
    private static TimeSpan ThreadCpu()
    {
        if (!OperatingSystem.IsLinux()) return Process.GetCurrentProcess().TotalProcessorTime;
        clock_gettime(3, out var ts);
        return TimeSpan.FromTicks(ts.Seconds * TimeSpan.TicksPerSecond + ts.Nanoseconds / 100);
    }

    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int clock_gettime(int clock, out TimeSpec ts);

    /// <summary>Where the SMTP sink runs and how many messages it has taken.</summary>
    private interface ISmtpSink : IAsyncDisposable
    {
        int Port { get; }
        bool SeparateProcess { get; }
        Task<(int Messages, int Sessions, double CpuMs)> CountAsync();
    }

    /// <summary>The sink in this process (the old way; its CPU counts against the client).</summary>
    private sealed class InProcessSink : ISmtpSink
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly CountingStore _store;
        private readonly Task _running;
        private int _sessions;

        public InProcessSink()
        {
            Port = FreePort();
            var (server, store) = SmtpSink(Port);
            _store = store;
            server.SessionCreated += (_, _) => Interlocked.Increment(ref _sessions);
            _running = server.StartAsync(_stop.Token);
        }

        public int Port { get; }
        public bool SeparateProcess => false;
        public Task<(int, int, double)> CountAsync() => Task.FromResult((_store.Count, Volatile.Read(ref _sessions), 0d));

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try { await _running; } catch (OperationCanceledException) { }
        }
    }

    /// <summary>The sink as a child process (<c>smtp-sink</c> command of this program), talking over stdin/stdout.</summary>
    private sealed class ChildProcessSink(Process process, int port) : ISmtpSink
    {
        public int Port => port;
        public bool SeparateProcess => true;

        public static async Task<ChildProcessSink> StartAsync()
        {
            var self = Environment.ProcessPath!;
            var psi = new ProcessStartInfo(self) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            // Started through the dotnet host (dotnet Herald.Bench.dll): the child needs the assembly too.
            if (Path.GetFileNameWithoutExtension(self) == "dotnet") psi.ArgumentList.Add(typeof(ChannelsBench).Assembly.Location);
            psi.ArgumentList.Add("smtp-sink");
            var process = Process.Start(psi)!;
            var ready = await process.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("smtp-sink exited");
            return new ChildProcessSink(process, int.Parse(ready.Split(' ')[1]));
        }

        public async Task<(int, int, double)> CountAsync()
        {
            await process.StandardInput.WriteLineAsync("count");
            await process.StandardInput.FlushAsync();
            var parts = (await process.StandardOutput.ReadLineAsync())!.Split(' ');
            return (int.Parse(parts[0]), int.Parse(parts[1]), double.Parse(parts[2]));
        }

        public async ValueTask DisposeAsync()
        {
            process.StandardInput.Close();
            if (!process.WaitForExit(5000)) process.Kill();
            await process.WaitForExitAsync();
            process.Dispose();
        }
    }

    /// <summary>An SmtpServer sink on a loopback port that counts what it receives.</summary>
    internal static (SmtpServer.SmtpServer Server, CountingStore Store) SmtpSink(int port)
    {
        var store = new CountingStore();
        var options = new SmtpServerOptionsBuilder().ServerName("sink")
            .Endpoint(b => b.Endpoint(new IPEndPoint(IPAddress.Loopback, port)).AllowUnsecureAuthentication(true)).Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(store);
        services.Add(new NoDelayListenerFactory());
        return (new SmtpServer.SmtpServer(options, services), store);
    }

    private static async Task HttpAsync(int messages, int batchSize)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var app = builder.Build();
        var count = 0;
        app.Run(async http =>
        {
            // Read the body as a real receiver would before answering.
            var buffer = ArrayPool<byte>.Shared.Rent(4096);
            while (await http.Request.Body.ReadAsync(buffer) > 0) { }
            ArrayPool<byte>.Shared.Return(buffer);
            Interlocked.Increment(ref count);
            http.Response.StatusCode = 204;
        });
        await app.StartAsync();
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/hook";
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = HttpChannel.Timeout,
        };
        await using var provider = new WebhookProvider(new WebhookSettings { Url = url, Secret = "bench-secret-0123456789" }, client, TimeProvider.System);
        await SendAsync(provider, Math.Min(1000, messages), batchSize, ChannelNames.Webhook, _ => "", 0);
        var before = count;
        var (elapsed, failed) = await SendAsync(provider, messages, batchSize, ChannelNames.Webhook, _ => "", 1_000_000);
        Console.WriteLine($"webhook: {messages} messages in {elapsed.TotalSeconds:F2} s = {messages / elapsed.TotalSeconds:F0} msg/s " +
                          $"(batch {batchSize}, concurrency {HttpChannel.Concurrency}, received {count - before}, failed {failed})");
        await app.StopAsync();
    }

    private static async Task<(TimeSpan Elapsed, int Failed)> SendAsync(IChannelProvider provider, int messages, int batchSize, string channel,
        Func<int, string> address, long idBase, RenderedMessage? content = null)
    {
        var failed = 0;
        var sw = Stopwatch.StartNew();
        for (var start = 0; start < messages; start += batchSize)
        {
            var n = Math.Min(batchSize, messages - start);
            var batch = new OutgoingMessage[n];
            for (var i = 0; i < n; i++)
            {
                var id = idBase + start + i;
                var body = content ?? (channel == ChannelNames.Webhook ? Content with { Body = $$"""{"event":"winter_sale","delivery":{{id}},"discount":50}""" } : Content);
                batch[i] = new OutgoingMessage(id, 1, 1, 1, id, channel, address(start + i), body);
            }
            var results = await provider.SendBatchAsync(batch, CancellationToken.None);
            failed += results.Count(r => !r.Succeeded);
        }
        return (sw.Elapsed, failed);
    }

    internal static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// <summary>
    /// SmtpServer's listener with Nagle off: it writes each reply to pipelined commands separately,
    /// and with Nagle on the second reply waits for the client's delayed ACK (~40 ms a message),
    /// which would measure the sink, not the provider.
    /// </summary>
    internal sealed class NoDelayListenerFactory : SmtpServer.Net.IEndpointListenerFactory
    {
        public SmtpServer.Net.IEndpointListener CreateListener(IEndpointDefinition endpointDefinition)
        {
            var listener = new TcpListener(endpointDefinition.Endpoint);
            listener.Start();
            return new Listener(listener);
        }

        private sealed class Listener(TcpListener listener) : SmtpServer.Net.IEndpointListener
        {
            public async Task<SmtpServer.IO.ISecurableDuplexPipe> GetPipeAsync(ISessionContext context, CancellationToken ct)
            {
                var client = await listener.AcceptTcpClientAsync(ct);
                client.NoDelay = true;
                context.Properties[SmtpServer.Net.EndpointListener.LocalEndPointKey] = client.Client.LocalEndPoint!;
                context.Properties[SmtpServer.Net.EndpointListener.RemoteEndPointKey] = client.Client.RemoteEndPoint!;
                return new PlainPipe(client);
            }

            public void Dispose() => listener.Stop();
        }

        /// <summary>The plain-TCP pipe (the sink never upgrades to TLS).</summary>
        private sealed class PlainPipe(TcpClient client) : SmtpServer.IO.ISecurableDuplexPipe
        {
            public System.IO.Pipelines.PipeReader Input { get; } = System.IO.Pipelines.PipeReader.Create(client.GetStream());
            public System.IO.Pipelines.PipeWriter Output { get; } = System.IO.Pipelines.PipeWriter.Create(client.GetStream());
            public bool IsSecure => false;
            public System.Security.Authentication.SslProtocols SslProtocol => System.Security.Authentication.SslProtocols.None;

            public Task UpgradeAsync(System.Security.Cryptography.X509Certificates.X509Certificate certificate, System.Security.Authentication.SslProtocols protocols, CancellationToken ct) =>
                throw new NotSupportedException("The benchmark sink speaks plain SMTP.");

            public void Dispose() => client.Dispose();
        }
    }

    /// <summary>
    /// Accepts a message as an MTA would before queueing it: reads its header block line by line (CRLF
    /// lines, printable field names, folded continuations) and refuses it (554) when that is malformed or
    /// lacks From, Message-ID or Content-Type, so a broken message fails the benchmark instead of being
    /// counted. A scan, not MimeKit's HeaderList.Load: that parser's per-message set-up added ~35 µs a
    /// message to the sink (on a loaded machine), a sixth of its CPU, measuring MimeKit rather than the provider.
    /// </summary>
    internal sealed class CountingStore : MessageStore
    {
        private static readonly SmtpResponse Malformed = new(SmtpReplyCode.TransactionFailed, "5.6.0 Malformed message");
        private int _count;
        public int Count => Volatile.Read(ref _count);

        public override Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken ct)
        {
            if (!HeadersAcceptable(buffer)) return Task.FromResult(Malformed);
            Interlocked.Increment(ref _count);
            return Task.FromResult(SmtpResponse.Ok);
        }

        internal static bool HeadersAcceptable(ReadOnlySequence<byte> message)
        {
            var reader = new SequenceReader<byte>(message);
            bool any = false, from = false, id = false, type = false;
            while (reader.TryReadTo(out ReadOnlySpan<byte> line, (byte)'\n'))
            {
                if (line.IsEmpty || line[^1] != (byte)'\r') return false; // bare LF
                line = line[..^1];
                if (line.IsEmpty) return any && from && id && type; // the blank line ending the header block
                if (line[0] is (byte)' ' or (byte)'\t')
                {
                    if (!any) return false; // a continuation with nothing to continue
                    continue;
                }
                var colon = line.IndexOf((byte)':');
                if (colon <= 0 || line[..colon].ContainsAnyExceptInRange((byte)33, (byte)126)) return false;
                var name = line[..colon];
                any = true;
                from |= System.Text.Ascii.EqualsIgnoreCase(name, "From"u8);
                id |= System.Text.Ascii.EqualsIgnoreCase(name, "Message-ID"u8);
                type |= System.Text.Ascii.EqualsIgnoreCase(name, "Content-Type"u8);
            }
            return false; // no end to the header block
        }
    }
}
