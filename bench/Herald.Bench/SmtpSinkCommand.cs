using System.Diagnostics;
using System.Net;
using SmtpServer;

namespace Herald.Bench;

/// <summary>
/// A plain SMTP sink (the SmtpServer package, PIPELINING advertised, Nagle off) in a process of its own, so
/// the channels benchmark measures the client without the sink taking CPU inside the same process.
/// Prints <c>ready &lt;port&gt;</c> once listening; answers each <c>count</c> line on stdin with
/// <c>&lt;messages&gt; &lt;sessions&gt; &lt;cpu ms&gt;</c>; exits when stdin closes.
/// Options: --port 0 (any free port)
/// </summary>
public sealed class SmtpSinkCommand : IBenchCommand
{
    public string Name => "smtp-sink";
    public string Description => "SMTP sink for the channels benchmark (run by it as a child process)";

    public async Task<int> RunAsync(BenchArgs args)
    {
        var port = args.Get("port", 0);
        if (port == 0) port = ChannelsBench.FreePort();
        using var stop = new CancellationTokenSource();
        var (server, store) = ChannelsBench.SmtpSink(port);
        var sessions = 0;
        server.SessionCreated += (_, _) => Interlocked.Increment(ref sessions);
        var running = server.StartAsync(stop.Token);
        Console.WriteLine($"ready {port}");
        Console.Out.Flush();
        while (await Console.In.ReadLineAsync() is { } line)
        {
            if (line.Trim() != "count") continue;
            Console.WriteLine($"{store.Count} {Volatile.Read(ref sessions)} {Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds:F0}");
            Console.Out.Flush();
        }
        await stop.CancelAsync();
        try { await running; } catch (OperationCanceledException) { }
        return 0;
    }
}
