using System.Net;
using Herald.Campaigns;
using Herald.Delivery;
using Herald.Tests.Infrastructure;
using Herald.Tracking;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Tracking;

/// <summary>A/B test phase: the test share goes first, the winner by the metric goes to the rest after the wait (fake clock).</summary>
public sealed class AbTestTests : IAsyncLifetime
{
    private readonly TrackingApp _app = new();

    public Task InitializeAsync() => _app.InitializeAsync();
    public Task DisposeAsync() => _app.DisposeAsync();

    private static readonly object[] Variants =
    [
        new { name = "A", weight = 50, content = new { email = new { subject = "A", html = """<a href="https://a.example/">a</a>""" } } },
        new { name = "B", weight = 50, content = new { email = new { subject = "B", html = """<a href="https://b.example/">b</a>""" } } },
    ];

    [Fact]
    public async Task TestPhase_SendsTheShareFirst_ThenTheClickWinnerToTheRest_AndRecordsTheDecision()
    {
        var ws = await _app.CreateWorkspaceAsync();
        var (campaignId, runId, _) = await TrackingKit.SendAsync(_app, ws, contacts: 60, variants: Variants,
            abTest: new { testPercent = 40, metric = "click", waitFor = "PT4H" });

        var rows = await _app.WithDbAsync(db => db.Set<DeliveryRow>().Where(d => d.RunId == runId).ToListAsync());
        var tested = rows.Where(r => r.Status == DeliveryStatus.Sent).ToList();
        var held = rows.Where(r => r.Status == DeliveryStatus.Pending).ToList();
        Assert.Equal(60, rows.Count);
        Assert.InRange(tested.Count, 12, 36); // about 40%: a hash of the contact id decides
        Assert.All(held, r => Assert.Equal((null, "ab_test"), (r.Variant, r.Reason)));
        Assert.Equal(rows.Count, tested.Count + held.Count);
        Assert.Contains(tested, r => r.Variant == "A");
        Assert.Contains(tested, r => r.Variant == "B");

        // Readers click B's link more: every B message, one A message.
        var outbox = await TrackingKit.OutboxAsync(_app, campaignId);
        var byVariant = tested.ToDictionary(r => r.Id, r => r.Variant);
        _app.Clock!.Advance(TimeSpan.FromMinutes(30));
        foreach (var m in outbox.Where(m => byVariant[m.DeliveryId] == "B")) await _app.Reader().GetAsync(m.Links[0]);
        await _app.Reader().GetAsync(outbox.First(m => byVariant[m.DeliveryId] == "A").Links[0]);

        var decider = _app.Services.GetRequiredService<AbTestDecider>();
        _app.Clock.Advance(TimeSpan.FromHours(3)); // 3.5 h: not yet
        Assert.Empty((await decider.RunOnceAsync(default)).DecidedRuns);
        await _app.DrainAsync();
        Assert.Equal(tested.Count, (await TrackingKit.RunAsync(_app, runId)).Sent);

        _app.Clock.Advance(TimeSpan.FromMinutes(31)); // past the 4 h
        Assert.Equal([runId], (await decider.RunOnceAsync(default)).DecidedRuns);
        Assert.Empty((await decider.RunOnceAsync(default)).DecidedRuns); // decided once
        await _app.DrainAsync();

        var run = await TrackingKit.RunAsync(_app, runId);
        Assert.Equal((RunStatus.Completed, 60, 0), (run.Status, run.Sent, run.Pending));
        var after = await _app.WithDbAsync(db => db.Set<DeliveryRow>().Where(d => d.RunId == runId).ToListAsync());
        Assert.All(after.Where(r => held.Any(h => h.Id == r.Id)), r => Assert.Equal("B", r.Variant));
        var subjects = await _app.WithDbAsync(db => db.Set<OutboxMessage>().Where(o => o.CampaignId == campaignId).ToListAsync());
        Assert.Equal(held.Count, subjects.Count(o => held.Any(h => h.Id == o.DeliveryId) && o.Subject == "B"));

        var stats = await TrackingKit.StatsAsync(ws, campaignId);
        var ab = stats.GetProperty("abTest");
        Assert.Equal(("decided", "B", "click", held.Count), (ab.GetProperty("status").GetString(), ab.GetProperty("winner").GetString(),
            ab.GetProperty("metric").GetString(), ab.GetProperty("holdback").GetInt32()));
        var figures = ab.GetProperty("variants").EnumerateArray().ToDictionary(v => v.GetProperty("name").GetString()!);
        Assert.Equal(1.0, figures["B"].GetProperty("rate").GetDouble());
        Assert.True(figures["A"].GetProperty("rate").GetDouble() < 1.0);
        Assert.Equal(tested.Count(t => t.Variant == "B"), figures["B"].GetProperty("sent").GetInt32());
        var variants = stats.GetProperty("variants").EnumerateArray().ToDictionary(v => v.GetProperty("name").GetString()!);
        Assert.Equal(60, variants["A"].I("total") + variants["B"].I("total"));
        Assert.Equal(tested.Count(t => t.Variant == "B") + held.Count, variants["B"].I("sent"));
    }

    [Fact]
    public async Task AbTest_IsValidated()
    {
        var ws = await _app.CreateWorkspaceAsync();
        var bad = await (await ws.Client().PostJsonAsync("/api/v1/campaigns", new
        {
            name = "Bad test", channel = "email", content = new { email = new { subject = "s", html = "<p>x</p>" } }, audience = new { all = true },
            schedule = new { type = "now" }, abTest = new { testPercent = 100, metric = "revenue", waitFor = "4 hours" },
        })).ExpectAsync(HttpStatusCode.BadRequest);
        var errors = bad.GetProperty("errors");
        foreach (var field in new[] { "abTest.testPercent", "abTest.metric", "abTest.waitFor", "abTest" })
            Assert.True(errors.TryGetProperty(field, out _), $"no error on {field}: {errors}");

        var ok = await (await ws.Client().PostJsonAsync("/api/v1/campaigns", new
        {
            name = "Good test", channel = "email", content = new { email = new { subject = "s", html = "<p>x</p>" } }, audience = new { all = true },
            schedule = new { type = "now" }, variants = Variants, abTest = new { testPercent = 20, metric = "open", waitFor = "PT4H" },
            tracking = new { textLinks = true },
        })).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(20, ok.GetProperty("abTest").GetProperty("testPercent").GetInt32());
        Assert.True(ok.GetProperty("tracking").GetProperty("opens").GetBoolean());
        Assert.True(ok.GetProperty("tracking").GetProperty("textLinks").GetBoolean());
        var id = ok.GetProperty("id").GetString();
        var removed = await (await ws.Client().PatchJsonAsync($"/api/v1/campaigns/{id}", new { abTest = new { } })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, removed.GetProperty("abTest").ValueKind);
    }
}
