using System.Collections.Concurrent;
using Herald.Audience;
using Herald.Campaigns;
using Herald.Channels;
using Herald.Common;
using Herald.Contacts;
using Herald.Delivery;
using Herald.Storage;
using Herald.Templates;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Delivery;

/// <summary>Test double for the audience feature: every live contact of the workspace.</summary>
public sealed class AllContactsAudience : IAudienceQuery
{
    public Task<Validation> ValidateAsync(long workspaceId, AudienceDefinition audience, CancellationToken ct) => Task.FromResult(new Validation());

    public Task<SqlFragment> CompileAsync(long workspaceId, AudienceDefinition audience, CancellationToken ct) =>
        Task.FromResult(new SqlFragment("SELECT id FROM contact WHERE workspace_id = @a0 AND deleted_at IS NULL", [new("@a0", workspaceId)]));
}

/// <summary>Test double for the templates feature: replaces <c>{{ contact.firstName }}</c> and <c>{{ campaign.name }}</c>.</summary>
public sealed class PlainRenderer : IMessageRenderer
{
    public ICompiledMessage Compile(string channel, ChannelContent content) => new Compiled(channel, content);

    private sealed class Compiled(string channel, ChannelContent c) : ICompiledMessage
    {
        public RenderedMessage Render(RenderScope s)
        {
            string? R(string? t) => t?.Replace("{{ contact.firstName }}", s.Contact.FirstName ?? "").Replace("{{ campaign.name }}", s.CampaignName ?? "");
            return channel switch
            {
                ChannelNames.Email => new RenderedMessage { Subject = R(c.Email?.Subject), Text = R(c.Email?.Text), Html = R(c.Email?.Html) },
                ChannelNames.Sms => new RenderedMessage { Body = R(c.Sms?.Body) },
                ChannelNames.WhatsApp => new RenderedMessage { Body = R(c.Whatsapp?.Text) },
                _ => new RenderedMessage { Body = R(c.Webhook?.Body) },
            };
        }
    }
}

/// <summary>
/// A scriptable provider ("fake"): every send is recorded per delivery id; the address decides the outcome:
/// <c>transient2-*</c> fails transiently twice then succeeds, <c>permanent-*</c> fails for good, <c>bounce-*</c>
/// fails for good and asks for suppression, <c>hang-*</c> blocks until cancelled (a node dying mid-send).
/// </summary>
public sealed class FakeSends
{
    public readonly ConcurrentDictionary<long, int> Sends = new();
    public readonly ConcurrentQueue<(long DeliveryId, DateTime At, string Node)> Log = new();
    public volatile bool PermanentHeals;
    public volatile bool HangAll;
    /// <summary>Nodes whose provider blocks until cancelled (the node "dies" mid-send).</summary>
    public readonly ConcurrentDictionary<string, bool> HangNodes = new();
    /// <summary>Batches that started hanging (a test waits for this before it "kills" the node).</summary>
    public int HangingBatches;
}

public sealed class FakeProviderFactory(FakeSends sends, string node) : IChannelProviderFactory
{
    public IReadOnlyCollection<string> Providers { get; } = ["fake"];

    public IChannelProvider Create(string provider, string channel, string settingsJson) => new Provider(sends, node);

    private sealed class Provider(FakeSends sends, string node) : IChannelProvider
    {
        public string Name => "fake";

        public async Task<IReadOnlyList<SendResult>> SendBatchAsync(IReadOnlyList<OutgoingMessage> batch, CancellationToken ct)
        {
            if (sends.HangAll || sends.HangNodes.ContainsKey(node) || batch.Any(m => m.Address.StartsWith("hang-")))
            {
                Interlocked.Increment(ref sends.HangingBatches);
                await Task.Delay(Timeout.Infinite, ct);
            }
            var results = new List<SendResult>();
            foreach (var m in batch)
            {
                var n = sends.Sends.AddOrUpdate(m.DeliveryId, 1, (_, v) => v + 1);
                sends.Log.Enqueue((m.DeliveryId, DateTime.UtcNow, node));
                if (m.Address.StartsWith("transient2-") && n <= 2)
                    results.Add(new SendResult(m.DeliveryId, FailureKind.Transient, null, "503", "try later"));
                else if (m.Address.StartsWith("permanent-") && !sends.PermanentHeals)
                    results.Add(new SendResult(m.DeliveryId, FailureKind.Permanent, null, "invalid_address", "no such mailbox"));
                else if (m.Address.StartsWith("bounce-"))
                    results.Add(new SendResult(m.DeliveryId, FailureKind.Permanent, null, "550", "mailbox gone", SuppressAddress: true));
                else results.Add(SendResult.Ok(m.DeliveryId, "pm-" + m.DeliveryId));
            }
            return results;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/// <summary>A Herald host with the delivery test doubles (audience, renderer, fake provider) registered.</summary>
public class DeliveryApp : HeraldApp
{
    public FakeSends Sends { get; }

    public DeliveryApp() : this(new FakeSends(), "web", null, null) { }

    protected DeliveryApp(FakeSends sends, string roles, DateTimeOffset? fakeTime, string? node)
    {
        Sends = sends;
        Roles = roles;
        UseFakeTime = fakeTime;
        ConfigureTestServices = s =>
        {
            s.AddSingleton<IAudienceQuery, AllContactsAudience>();
            s.AddSingleton<IMessageRenderer, PlainRenderer>();
            s.AddSingleton<IChannelProviderFactory>(new FakeProviderFactory(Sends, node ?? "node"));
        };
    }

    public DeliveryEngine Engine => Services.GetRequiredService<DeliveryEngine>();

    /// <summary>Runs claim passes until nothing is due (the worker loop, minus the sleeping).</summary>
    public async Task<List<BatchResult>> DrainAsync(int maxPasses = 1000)
    {
        var results = new List<BatchResult>();
        for (var i = 0; i < maxPasses; i++)
        {
            var r = await Engine.RunOnceAsync(default);
            if (r.Claimed == 0) break;
            results.Add(r);
        }
        return results;
    }
}

/// <summary>A worker node (hosted delivery loops on) sharing another host's database.</summary>
public sealed class WorkerApp : DeliveryApp
{
    public WorkerApp(FakeSends sends, string node, string sharedConnectionString, int batchSize = 200, int leaseSeconds = 60)
        : base(sends, "web,worker", null, node)
    {
        Settings["Herald:Database:ConnectionString"] = sharedConnectionString;
        Settings["Herald:Delivery:NodeName"] = node;
        Settings["Herald:Delivery:BatchSize"] = batchSize.ToString();
        Settings["Herald:Delivery:LeaseSeconds"] = leaseSeconds.ToString();
        Settings["Herald:Delivery:SweepSeconds"] = "0.5";
        Settings["Herald:Delivery:IdleMaxSeconds"] = "0.2";
    }
}

/// <summary>Seeding helpers: contacts, channel configs, a campaign with a run.</summary>
public static class DeliverySeed
{
    public static async Task<List<long>> ContactsAsync(HeraldApp app, long workspaceId, IEnumerable<(string? Email, string? Phone, string? First)> people,
        Action<Contact>? tweak = null)
    {
        return await app.WithDbAsync(async db =>
        {
            var now = DateTime.UtcNow;
            var list = people.Select(p => new Contact { WorkspaceId = workspaceId, Email = p.Email, Phone = p.Phone, FirstName = p.First, CreatedAt = now, UpdatedAt = now }).ToList();
            if (tweak is not null) list.ForEach(tweak);
            db.ChangeTracker.AutoDetectChangesEnabled = false;
            db.Set<Contact>().AddRange(list);
            await db.SaveChangesAsync();
            return list.Select(c => c.Id).ToList();
        });
    }

    public static Task<List<long>> ManyAsync(HeraldApp app, long workspaceId, int n, string prefix = "p") =>
        ContactsAsync(app, workspaceId, Enumerable.Range(0, n).Select(i => ((string?)$"{prefix}{i}@example.com", (string?)null, (string?)$"N{i}")));

    public static Task<long> ChannelAsync(HeraldApp app, long workspaceId, string channel = ChannelNames.Email, int? perSecond = null,
        string crashPolicy = CrashPolicies.AtLeastOnce, string provider = "fake") => app.WithDbAsync(async db =>
    {
        var now = DateTime.UtcNow;
        var c = new ChannelConfig
        {
            WorkspaceId = workspaceId, Channel = channel, Provider = provider, Name = provider + " " + channel, IsDefault = true,
            RateLimitPerSecond = perSecond, CrashPolicy = crashPolicy, CreatedAt = now, UpdatedAt = now,
        };
        db.Set<ChannelConfig>().Add(c);
        await db.SaveChangesAsync();
        return c.Id;
    });

    public static Task<(long CampaignId, long RunId)> CampaignAsync(HeraldApp app, long workspaceId, string[]? channels = null, string mode = "all",
        string? variants = null, string? sendWindow = null, string status = CampaignStatus.Running, DateTime? now = null) => app.WithDbAsync(async db =>
    {
        var at = now ?? DateTime.UtcNow;
        var c = new Campaign
        {
            WorkspaceId = workspaceId, Name = "Sale", Status = status, Channels = [.. channels ?? [ChannelNames.Email]], ChannelMode = mode,
            Content = """{"email":{"subject":"Hi {{ contact.firstName }}","text":"Deals for {{ contact.firstName }}"},"sms":{"body":"Hi {{ contact.firstName }}"},"webhook":{"url":"https://hooks.example.com/in","body":"{}"}}""",
            Audience = """{"all":true}""", Variants = variants, SendWindow = sendWindow, CreatedBy = "test", CreatedAt = at, UpdatedAt = at,
        };
        db.Set<Campaign>().Add(c);
        await db.SaveChangesAsync();
        var r = new CampaignRun { WorkspaceId = workspaceId, CampaignId = c.Id, ScheduledFor = at, Status = RunStatus.Scheduled };
        db.Set<CampaignRun>().Add(r);
        await db.SaveChangesAsync();
        return (c.Id, r.Id);
    });

    public static Task StartAsync(HeraldApp app, long runId) => app.WithScopeAsync(async sp =>
    {
        await sp.GetRequiredService<IRunStarter>().StartAsync(runId, default);
        return true;
    });

    public static Task<CampaignRun> RunAsync(HeraldApp app, long runId) => app.WithDbAsync(db => db.Set<CampaignRun>().AsNoTracking().FirstAsync(r => r.Id == runId));

    public static Task<List<DeliveryRow>> DeliveriesAsync(HeraldApp app, long runId) =>
        app.WithDbAsync(db => db.Set<DeliveryRow>().AsNoTracking().Where(d => d.RunId == runId).OrderBy(d => d.Id).ToListAsync());

    /// <summary>Waits (real time) until the run is no longer pending; fails after <paramref name="timeout"/>.</summary>
    public static async Task<CampaignRun> WaitFinishedAsync(HeraldApp app, long runId, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var run = await RunAsync(app, runId);
            if (run.FinishedAt is not null) return run;
            if (DateTime.UtcNow > until) Assert.Fail($"Run {runId} did not finish in {timeout}: status {run.Status}, pending {run.Pending}, sent {run.Sent}.");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// The deliveries a node holds in flight: leased row by row ('sending'), or pending in one of its first-pass range
    /// leases (PostgreSQL), not yet recorded.
    /// </summary>
    public static Task<List<long>> InFlightAsync(HeraldApp app, long runId, string node) => app.WithDbAsync(async db =>
    {
        var ranges = await db.Set<DeliveryLease>().AsNoTracking().Where(l => l.RunId == runId && l.Owner == node).ToListAsync();
        var rows = await db.Set<DeliveryRow>().AsNoTracking()
            .Where(d => d.RunId == runId && (d.Status == DeliveryStatus.Sending && d.LeaseOwner == node || d.Status == DeliveryStatus.Pending && d.FirstPass))
            .Select(d => new { d.Id, d.Status }).ToListAsync();
        return rows.Where(d => d.Status == DeliveryStatus.Sending || ranges.Any(l => d.Id >= l.FirstId && d.Id <= l.LastId)).Select(d => d.Id).ToList();
    });

    /// <summary>The run's counters must equal its delivery rows counted by status.</summary>
    public static async Task AssertCountersMatchRowsAsync(HeraldApp app, long runId)
    {
        var run = await RunAsync(app, runId);
        var rows = await DeliveriesAsync(app, runId);
        int C(params string[] s) => rows.Count(r => s.Contains(r.Status));
        Assert.Equal(rows.Count, run.Total);
        Assert.Equal(C(DeliveryStatus.Pending, DeliveryStatus.Sending), run.Pending);
        Assert.Equal(C(DeliveryStatus.Sent, DeliveryStatus.Delivered, DeliveryStatus.Read), run.Sent);
        Assert.Equal(C(DeliveryStatus.Failed), run.Failed);
        Assert.Equal(C(DeliveryStatus.Skipped), run.Skipped);
        Assert.Equal(C(DeliveryStatus.Unknown), run.Unknown);
    }
}
