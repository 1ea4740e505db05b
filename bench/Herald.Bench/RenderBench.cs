using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Herald.Channels;
using Herald.Contacts;
using Herald.Hosting;
using Herald.Templates;
using Herald.Tracking;
using Microsoft.Extensions.Options;

namespace Herald.Bench;

/// <summary>
/// The per-message CPU of the send path without any I/O: what <c>DeliveryEngine.SendAsync</c> does for each message of
/// a tracked email run (sign the unsubscribe URL, render subject/text/html for the contact, swap the pixel and link
/// markers for signed URLs), on one thread over in-memory contacts. Prints µs and allocated bytes per message, and a
/// digest of the output of the first messages (fixed key and contacts) so two builds can be checked to render the same.
/// <c>--part tokens</c> times only the four signed URLs of a message, <c>--part render</c> only the templates.
/// <code>
/// dotnet run -c Release --project bench/Herald.Bench -- render [--messages 1000000] [--contacts 10000] [--attributes none] [--part tokens|render]
/// </code>
/// </summary>
public sealed class RenderBench : IBenchCommand
{
    public string Name => "render";
    public string Description => "render + track N messages of a typical email in memory: µs and bytes per message";

    /// <summary>A typical tracked email: the first name in every part, two links, the pixel and the unsubscribe link.</summary>
    internal static readonly EmailContent Email = new()
    {
        Subject = "Hi {{ contact.firstName }}, this week's deals",
        Text = "Hi {{ contact.firstName }},\n\nOur sale is on: https://shop.example/sale\nNew arrivals: https://shop.example/new\n\nUnsubscribe: {{ unsubscribeUrl }}\n",
        Html = """
            <html><body><p>Hi <b>{{ contact.firstName }}</b>,</p>
            <p>Our sale is on: <a href="https://shop.example/sale">shop the sale</a>.</p>
            <p>New arrivals: <a href="https://shop.example/new">see what's new</a>.</p>
            <p style="font-size:12px">{{ workspace.name }} &middot; <a href="{{ unsubscribeUrl }}">Unsubscribe</a></p>
            </body></html>
            """,
    };

    public Task<int> RunAsync(BenchArgs args)
    {
        var messages = args.Get("messages", 1_000_000);
        var contactCount = args.Get("contacts", 10_000);
        var withAttributes = args.Get("attributes", "some") != "none";
        var part = args.Get("part", "all");

        var tokens = new TrackingTokens(null!, Options.Create(new HeraldOptions { PublicBaseUrl = "https://mail.shop.example" }), TimeProvider.System);
        tokens.UseKey(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        var renderer = new FluidMessageRenderer();
        var rewrite = LinkRewriter.Rewrite(ChannelNames.Email, new ChannelContent { Email = Email }, CampaignTracking.Default, _ => null);
        var tracking = RunTracking.Create(tokens, [((null, ChannelNames.Email), rewrite.Content, rewrite.Urls.Select((_, i) => 1000L + i).ToArray())]);
        var compiled = renderer.Compile(ChannelNames.Email, rewrite.Content);
        var now = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var contacts = Enumerable.Range(1, contactCount).Select(i => new Contact
        {
            Id = i, WorkspaceId = 1, Email = $"c{i}@example.com", FirstName = "Name" + i, LastName = i % 3 == 0 ? null : "Last" + i,
            City = "Pune", Country = "IN", Tags = i % 2 == 0 ? ["vip"] : [], CreatedAt = now, UpdatedAt = now,
            Attributes = withAttributes ? $$"""{"plan":"{{(i % 2 == 0 ? "gold" : "silver")}}","visits":{{i % 17}},"source":"import"}""" : "{}",
        }).ToArray();
        Console.WriteLine($"render: {messages:N0} messages over {contactCount:N0} contacts (attributes: {(withAttributes ? "3 keys" : "none")}), "
            + $"{rewrite.Urls.Count} tracked links + pixel + unsubscribe URL, one thread");

        RenderedMessage One(long deliveryId)
        {
            var contact = contacts[(int)(deliveryId % contacts.Length)];
            var rendered = compiled.Render(new RenderScope(contact, "Acme Stores", 42, "Weekly deals", UnsubscribeUrl: tracking.UnsubscribeUrl(deliveryId)));
            return tracking.Apply(null, ChannelNames.Email, deliveryId, rendered);
        }

        RenderedMessage Timed(long deliveryId)
        {
            if (part == "tokens") // the four signed URLs alone
            {
                var u = tracking.UnsubscribeUrl(deliveryId);
                tokens.OpenUrl(deliveryId);
                tokens.ClickUrl(deliveryId, 1000, 2);
                tokens.ClickUrl(deliveryId, 1001, 2);
                return new RenderedMessage { Html = u };
            }
            if (part == "render") // the templates alone, no signed URL
                return compiled.Render(new RenderScope(contacts[(int)(deliveryId % contacts.Length)], "Acme Stores", 42, "Weekly deals", UnsubscribeUrl: "https://mail.shop.example/u/x"));
            return One(deliveryId);
        }

        // The output of the first messages, digested: equal across builds means the change rendered the same strings.
        using (var digest = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            for (long id = 1; id <= 20_000; id++)
            {
                var m = One(id);
                foreach (var s in (string?[])[m.Subject, m.Text, m.Html, m.UnsubscribeUrl])
                    digest.AppendData(Encoding.UTF8.GetBytes((s ?? "<null>") + "\0"));
            }
            Console.WriteLine($"output digest (first 20,000): {Convert.ToHexStringLower(digest.GetHashAndReset())[..16]}");
            var sample = One(1);
            Console.WriteLine($"sample html: {sample.Html!.Length} chars, text: {sample.Text!.Length} chars, subject: \"{sample.Subject}\"");
        }

        for (long id = 1; id <= 50_000; id++) Timed(id); // warm: tiered JIT up to its final code
        GC.Collect();
        var gen0 = GC.CollectionCount(0);
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var sink = 0L;
        for (long id = 1; id <= messages; id++) sink += Timed(id).Html!.Length;
        sw.Stop();
        var cpuUsed = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        var bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Console.WriteLine($"wall: {sw.Elapsed.TotalSeconds:F2} s, process CPU: {cpuUsed.TotalSeconds:F2} s, gen0 GCs: {GC.CollectionCount(0) - gen0:N0} (html chars {sink:N0})");
        Console.WriteLine($"per message: {sw.Elapsed.TotalMicroseconds / messages:F2} µs wall, {cpuUsed.TotalMicroseconds / messages:F2} µs CPU, {bytes / (double)messages:N0} bytes allocated");
        return Task.FromResult(0);
    }
}
