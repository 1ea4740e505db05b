using System.Net;
using Herald.Auth;
using Herald.Campaigns;
using Herald.Scheduling;
using Herald.Tests.Campaigns;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Scheduling;

public sealed class SchedulerTests(SchedulerApp app) : IClassFixture<SchedulerApp>
{
    private CampaignScheduler Scheduler => app.Services.GetRequiredService<CampaignScheduler>();

    /// <summary>Creates and approves (approval off) a campaign with <paramref name="schedule"/>; returns its id.</summary>
    private async Task<long> ApprovedAsync(TestWorkspace ws, object schedule)
    {
        var c = await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/campaigns", CampaignBodies.Sms(schedule: schedule))).ExpectAsync(HttpStatusCode.Created);
        var id = c.GetProperty("id").GetString()!;
        await (await ws.Client(Role.Editor).PostJsonAsync($"/api/v1/campaigns/{id}/submit", new { })).ExpectAsync(HttpStatusCode.OK);
        return long.Parse(id);
    }

    private Task<List<CampaignRun>> RunsAsync(long campaignId) =>
        app.WithDbAsync(db => db.Set<CampaignRun>().AsNoTracking().Where(r => r.CampaignId == campaignId).OrderBy(r => r.Occurrence).ToListAsync());

    private Task<Campaign> CampaignAsync(long id) => app.WithDbAsync(db => db.Set<Campaign>().AsNoTracking().FirstAsync(c => c.Id == id));

    private bool WasStarted(long runId) => app.Starter.Started.Any(s => s.RunId == runId);

    private static string Local(DateTime utc) => utc.ToString("yyyy-MM-ddTHH:mm:ss");

    [Fact]
    public async Task RunOnce_OneTimeRun_StartsAtItsTimeNotBefore()
    {
        var ws = await app.CreateWorkspaceAsync();
        var at = app.Now.AddMinutes(10);
        var id = await ApprovedAsync(ws, CampaignBodies.Once(at));
        var run = Assert.Single(await RunsAsync(id));
        Assert.Equal(at, run.ScheduledFor);
        Assert.Equal(at, (await CampaignAsync(id)).NextRunAt);

        var early = await Scheduler.RunOnceAsync(at.AddMilliseconds(-1));
        Assert.False(WasStarted(run.Id));
        Assert.True(early.NextDueAt <= at);

        await Scheduler.RunOnceAsync(at);
        Assert.True(WasStarted(run.Id));
        run = Assert.Single(await RunsAsync(id));
        Assert.Equal(RunStatus.Running, run.Status);
        Assert.False(run.Misfired);
        var campaign = await CampaignAsync(id);
        Assert.Equal(CampaignStatus.Running, campaign.Status);
        Assert.Null(campaign.NextRunAt);
    }

    [Fact]
    public async Task RunOnce_RecurringWithMaxOccurrences_CreatesTheNextRunWhenOneStartsUntilTheLast()
    {
        var ws = await app.CreateWorkspaceAsync();
        var start = app.Now.AddMinutes(1);
        var id = await ApprovedAsync(ws, new { type = "recurring", frequency = "minutely", interval = 2, startAt = Local(start), timezone = "UTC", maxOccurrences = 3 });
        for (var i = 0; i < 3; i++)
        {
            var due = start.AddMinutes(2 * i);
            Assert.Equal(due, (await CampaignAsync(id)).NextRunAt);
            await Scheduler.RunOnceAsync(due);
        }
        var runs = await RunsAsync(id);
        Assert.Equal(new[] { 1, 2, 3 }, runs.Select(r => r.Occurrence));
        Assert.All(runs, r => Assert.True(WasStarted(r.Id)));
        Assert.Equal(new[] { start, start.AddMinutes(2), start.AddMinutes(4) }, runs.Select(r => r.ScheduledFor));
        Assert.Null((await CampaignAsync(id)).NextRunAt);
    }

    [Fact]
    public async Task RunOnce_OverdueOneTimeRun_StartsAtOnceFlaggedAsMisfire()
    {
        var ws = await app.CreateWorkspaceAsync();
        var at = app.Now.AddMinutes(5);
        var id = await ApprovedAsync(ws, CampaignBodies.Once(at));
        await Scheduler.RunOnceAsync(at.AddHours(3)); // the server was down for three hours
        var run = Assert.Single(await RunsAsync(id));
        Assert.True(WasStarted(run.Id));
        Assert.True(run.Misfired);
        Assert.Contains("Misfire", run.StatusReason);
        var listed = await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/campaigns/{id}/runs")).ExpectAsync(HttpStatusCode.OK);
        Assert.True(listed.GetProperty("items")[0].GetProperty("misfired").GetBoolean());
    }

    [Fact]
    public async Task RunOnce_OverdueRecurring_FiresOnceAndContinuesFromTheNextFutureSlot()
    {
        var ws = await app.CreateWorkspaceAsync();
        var start = app.Now.AddMinutes(1);
        var id = await ApprovedAsync(ws, new { type = "recurring", frequency = "minutely", startAt = Local(start), timezone = "UTC" });
        var bootAt = start.AddMinutes(10).AddSeconds(30); // ten slots were missed
        var result = await Scheduler.RunOnceAsync(bootAt);
        Assert.Equal(1, result.Started);
        Assert.Equal(1, result.Misfired);
        var runs = await RunsAsync(id);
        Assert.Equal(2, runs.Count);
        Assert.True(runs[0].Misfired);
        Assert.Equal(RunStatus.Scheduled, runs[1].Status);
        Assert.Equal(start.AddMinutes(11), runs[1].ScheduledFor);
        Assert.True(result.NextDueAt <= start.AddMinutes(11));
        // No burst: a second pass at the same instant starts nothing more.
        Assert.Equal(0, (await Scheduler.RunOnceAsync(bootAt)).Started);
    }

    [Fact]
    public async Task Reschedule_WhileApproved_MovesThePendingRun()
    {
        var ws = await app.CreateWorkspaceAsync();
        var first = app.Now.AddHours(1);
        var id = await ApprovedAsync(ws, CampaignBodies.Once(first));
        var later = app.Now.AddHours(2);
        var c = await (await ws.Client(Role.Editor).PatchJsonAsync($"/api/v1/campaigns/{id}/schedule", new { schedule = CampaignBodies.Once(later) })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("approved", c.GetProperty("status").GetString());
        Assert.Equal(later, c.GetProperty("nextRunAt").GetDateTime().ToUniversalTime());
        var run = Assert.Single(await RunsAsync(id));
        Assert.Equal(later, run.ScheduledFor);

        await Scheduler.RunOnceAsync(first.AddSeconds(1));
        Assert.False(WasStarted(run.Id));
        await Scheduler.RunOnceAsync(later);
        Assert.True(WasStarted(run.Id));
        // Once running it cannot be rescheduled.
        var conflict = await (await ws.Client(Role.Editor).PatchJsonAsync($"/api/v1/campaigns/{id}/schedule", new { schedule = CampaignBodies.Once(later.AddHours(1)) })).ExpectAsync(HttpStatusCode.Conflict);
        Assert.Equal("running", conflict.GetProperty("currentState").GetString());
    }

    [Fact]
    public async Task RunOnce_CancelledCampaign_StartsNothing()
    {
        var ws = await app.CreateWorkspaceAsync();
        var at = app.Now.AddMinutes(3);
        var id = await ApprovedAsync(ws, CampaignBodies.Once(at));
        await (await ws.Client(Role.Editor).PostJsonAsync($"/api/v1/campaigns/{id}/cancel", new { })).ExpectAsync(HttpStatusCode.OK);
        await Scheduler.RunOnceAsync(at.AddSeconds(1));
        var run = Assert.Single(await RunsAsync(id));
        Assert.False(WasStarted(run.Id));
        Assert.Equal(RunStatus.Cancelled, run.Status);
    }

    [Fact]
    public async Task RunOnce_TwoSchedulersConcurrently_StartEachRunExactlyOnce()
    {
        var ws = await app.CreateWorkspaceAsync();
        var due = app.Now.AddMinutes(30);
        var ids = new List<long>();
        for (var i = 0; i < 12; i++) ids.Add(await ApprovedAsync(ws, CampaignBodies.Once(due.AddMilliseconds(i * 10))));
        var recurring = await ApprovedAsync(ws, new { type = "recurring", frequency = "secondly", startAt = Local(due), timezone = "UTC", maxOccurrences = 5 });
        ids.Add(recurring);

        var a = ActivatorUtilities.CreateInstance<CampaignScheduler>(app.Services);
        var b = ActivatorUtilities.CreateInstance<CampaignScheduler>(app.Services);
        a.Node = "node-a";
        b.Node = "node-b";
        for (var s = 0; s < 6; s++)
        {
            var now = due.AddSeconds(s).AddMilliseconds(500);
            await Task.WhenAll(Enumerable.Range(0, 3).SelectMany(_ => new[] { a.RunOnceAsync(now), b.RunOnceAsync(now) }));
        }
        var runs = await app.WithDbAsync(db => db.Set<CampaignRun>().AsNoTracking().Where(r => ids.Contains(r.CampaignId)).ToListAsync());
        Assert.Equal(12 + 5, runs.Count);
        var counts = app.Starter.Started.Where(s => runs.Any(r => r.Id == s.RunId)).GroupBy(s => s.RunId).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(runs.Count, counts.Count);
        Assert.All(counts.Values, n => Assert.Equal(1, n));
        Assert.All(runs, r => Assert.Contains(r.ClaimedBy, new[] { "node-a", "node-b" }));
    }
}

/// <summary>The hosted scheduler loop on the fake clock: it sleeps until the earliest due run and a new run wakes it.</summary>
public sealed class SchedulerLoopTests(SchedulerRoleApp app) : IClassFixture<SchedulerRoleApp>
{
    private static async Task Eventually(Func<bool> condition, string what)
    {
        for (var i = 0; i < 200 && !condition(); i++) await Task.Delay(25);
        Assert.True(condition(), what);
    }

    [Fact]
    public async Task HostedLoop_RunCreatedWhileAsleep_StartsWhenTheClockReachesItsTime()
    {
        var ws = await app.CreateWorkspaceAsync();
        var at = app.Now.AddSeconds(30);
        var c = await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/campaigns", CampaignBodies.Sms(schedule: CampaignBodies.Once(at)))).ExpectAsync(HttpStatusCode.Created);
        var id = c.GetProperty("id").GetString();
        await (await ws.Client(Role.Editor).PostJsonAsync($"/api/v1/campaigns/{id}/submit", new { })).ExpectAsync(HttpStatusCode.OK);
        var runId = await app.WithDbAsync(db => db.Set<CampaignRun>().Where(r => r.CampaignId == long.Parse(id!)).Select(r => r.Id).FirstAsync());

        await Task.Delay(200); // let the loop take the wake-up and go back to sleep until the run's time
        app.Clock!.Advance(TimeSpan.FromSeconds(29));
        await Task.Delay(200);
        Assert.DoesNotContain(app.Starter.Started, s => s.RunId == runId);
        app.Clock.Advance(TimeSpan.FromSeconds(1));
        await Eventually(() => app.Starter.Started.Any(s => s.RunId == runId), "the run started at its time");
        Assert.Equal(at, app.Starter.Started.Single(s => s.RunId == runId).At);
    }

}

/// <summary>Cross-node wake-up: a NOTIFY from another connection wakes a sleeping scheduler.</summary>
public sealed class SchedulerNotifyTests(SchedulerRoleApp app) : IClassFixture<SchedulerRoleApp>
{
    private static async Task Eventually(Func<bool> condition, string what)
    {
        for (var i = 0; i < 200 && !condition(); i++) await Task.Delay(25);
        Assert.True(condition(), what);
    }

    [PostgresFact]
    public async Task HostedLoop_NotifyFromAnotherNode_WakesItOnPostgres()
    {
        var ws = await app.CreateWorkspaceAsync();
        var c = await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/campaigns", CampaignBodies.Sms())).ExpectAsync(HttpStatusCode.Created);
        var id = long.Parse(c.GetProperty("id").GetString()!);
        var scheduler = app.Services.GetRequiredService<CampaignScheduler>();
        await Eventually(() => scheduler.Listening, "the scheduler listens");
        // Quiet: the loop has finished its passes and sleeps (nothing due: the 60 s safety re-check).
        int passes;
        do { passes = scheduler.LoopPasses; await Task.Delay(300); } while (passes != scheduler.LoopPasses);
        var at = app.Now.AddSeconds(10);
        // "Another node" approves the campaign: rows written and NOTIFY sent on its own connection, no in-process signal here.
        await using (var conn = new Npgsql.NpgsqlConnection(app.Database.ConnectionString))
        {
            await conn.OpenAsync();
            await using var cmd = new Npgsql.NpgsqlCommand(
                "UPDATE campaign SET status = 'approved' WHERE id = @id; " +
                "INSERT INTO campaign_run (workspace_id, campaign_id, occurrence, scheduled_for, status, misfired, total, pending, sent, delivered, read, failed, skipped, unknown, opened, clicked, converted, unsubscribed, bounced) " +
                "VALUES (@ws, @id, 1, @at, 'scheduled', false, 0,0,0,0,0,0,0,0,0,0,0,0,0); SELECT pg_notify('herald_scheduler', '');", conn);
            cmd.Parameters.AddWithValue("id", id);
            cmd.Parameters.AddWithValue("ws", ws.Id);
            cmd.Parameters.AddWithValue("at", at);
            await cmd.ExecuteNonQueryAsync();
        }
        var runId = await app.WithDbAsync(db => db.Set<CampaignRun>().Where(r => r.CampaignId == id).Select(r => r.Id).FirstAsync());
        // The notification alone wakes the loop (the fake clock has not moved): it re-plans its sleep to the run's time.
        await Eventually(() => scheduler.LoopPasses > passes, "the NOTIFY woke the sleeping loop");
        app.Clock!.Advance(TimeSpan.FromSeconds(10));
        await Eventually(() => app.Starter.Started.Any(s => s.RunId == runId), "the run started at its time after the NOTIFY");
    }
}

/// <summary>A run starter that always throws, to see a failed start end visibly.</summary>
public sealed class FailingStarterApp : SchedulerApp
{
    public FailingStarterApp()
    {
        ConfigureTestServices = s => s.AddSingleton<IRunStarter>(new ThrowingStarter());
    }

    private sealed class ThrowingStarter : IRunStarter
    {
        public Task StartAsync(long runId, CancellationToken ct) => throw new InvalidOperationException("audience query exploded");
    }
}

public sealed class SchedulerFailureTests(FailingStarterApp app) : IClassFixture<FailingStarterApp>
{
    [Fact]
    public async Task RunOnce_StarterThrows_RunAndOneTimeCampaignEndFailedWithTheReason()
    {
        var ws = await app.CreateWorkspaceAsync();
        var at = app.Now.AddMinutes(1);
        var c = await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/campaigns", CampaignBodies.Sms(schedule: CampaignBodies.Once(at)))).ExpectAsync(HttpStatusCode.Created);
        var id = long.Parse(c.GetProperty("id").GetString()!);
        await (await ws.Client(Role.Editor).PostJsonAsync($"/api/v1/campaigns/{id}/submit", new { })).ExpectAsync(HttpStatusCode.OK);
        var result = await app.Services.GetRequiredService<CampaignScheduler>().RunOnceAsync(at);
        Assert.Equal(0, result.Started);
        var run = await app.WithDbAsync(db => db.Set<CampaignRun>().AsNoTracking().FirstAsync(r => r.CampaignId == id));
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains("audience query exploded", run.StatusReason);
        var campaign = await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/campaigns/{id}")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("failed", campaign.GetProperty("status").GetString());
        Assert.Contains("audience query exploded", campaign.GetProperty("statusReason").GetString());
    }
}
