using System.Net;
using Herald.Audience;
using Herald.Auth;
using Herald.Common;
using Herald.Journeys;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static Herald.Tests.Journeys.JourneyTestKit;

namespace Herald.Tests.Journeys;

public sealed class JourneyTriggerTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 30, 4, 0, 0, TimeSpan.Zero); // Monday 09:30 in Kolkata

    [Fact]
    public Task DateAttribute_DayBeforeBirthday_EntersAtTheTriggerHourInContactTimezone() => RunAsync(Start, async (app, ws) =>
    {
        var journey = await CreateJourneyAsync(ws, new
        {
            name = "Birthday eve", reentry = "after_exit",
            trigger = new { type = "date_attribute", attribute = "attributes.birthday", offsetDays = -1, at = "10:00" },
            steps = new object[] { Email("eve", "Tomorrow is your day") },
        });
        var c = await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/contacts",
            new { email = "bday@example.com", timezone = "Asia/Kolkata", attributes = new { birthday = "1990-12-01" } })).ExpectAsync(HttpStatusCode.Created);
        await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/contacts",
            new { email = "other@example.com", timezone = "Asia/Kolkata", attributes = new { birthday = "1990-06-01" } })).ExpectAsync(HttpStatusCode.Created);

        var early = await RunEngineAsync(app); // 09:30 local: not yet the trigger hour
        Assert.Empty(await EnrollmentsAsync(app, journey));
        Assert.Equal(Utc("2026-11-30T05:00:00Z"), early.NextDueAt); // the next hourly sweep, not a minute poll

        SetNow(app, Utc("2026-11-30T04:30:00Z")); // 10:00 Kolkata on 30 Nov, the day before 1 Dec
        await RunEngineAsync(app); // sweep is due at 05:00 UTC; nothing yet
        SetNow(app, Utc("2026-11-30T05:00:00Z")); // 10:30 local: inside the 10:00 hour
        await RunEngineAsync(app);
        var e = Assert.Single(await EnrollmentsAsync(app, journey));
        Assert.Equal(long.Parse(c.GetProperty("id").GetString()!), e.ContactId);
        Assert.Equal(["eve"], (await DeliveriesAsync(app, journey)).Select(d => d.Step));

        SetNow(app, Utc("2026-11-30T06:00:00Z")); // next hour: evaluated once a day, no second entry
        await RunEngineAsync(app);
        Assert.Single(await EnrollmentsAsync(app, journey));
    });

    [Fact]
    public Task SegmentEntered_ContactChangesIntoTheSegment_EntersAndFilterBranchUsesTheAudienceQuery() => RunAsync(Start, async (app, ws) =>
    {
        var journey = await CreateJourneyAsync(ws, new
        {
            name = "Pune", trigger = new { type = "segment_entered", segmentId = "7" },
            steps = new object[]
            {
                new { id = "vip", type = "branch", filter = new { city = "Pune" }, then = "yes", @else = "no" },
                Email("yes", "Namaste Pune", next: "end"), Email("no", "Hello"), new { id = "end", type = "exit" },
            },
        });
        var contact = await CreateContactAsync(ws, "seg@example.com");
        await CreateContactAsync(ws, "elsewhere@example.com");
        Assert.Empty(await EnrollmentsAsync(app, journey)); // created outside the segment
        await (await ws.Client(Role.Editor).PatchJsonAsync($"/api/v1/contacts/{contact}", new { city = "Pune" })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(contact, Assert.Single(await EnrollmentsAsync(app, journey)).ContactId);
        await RunEngineAsync(app);
        Assert.Equal(["yes"], (await DeliveriesAsync(app, journey)).Select(d => d.Step));
    }, configure: s => s.AddSingleton<IAudienceQuery, CityAudience>());

    [Fact]
    public Task TagAdded_ThroughBulkUpsertOfExistingContacts_EntersOnlyThoseThatGainedTheTag() => RunAsync(Start, async (app, ws) =>
    {
        var journey = await CreateJourneyAsync(ws, new { name = "Trial", trigger = new { type = "tag_added", tag = "trial" }, steps = new object[] { Email("a", "A") } });
        var tagged = await CreateContactAsync(ws, "bulk-trial@example.com");
        await CreateContactAsync(ws, "bulk-other@example.com");
        await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/contacts/bulk", new
        {
            contacts = new object[]
            {
                new { email = "bulk-trial@example.com", tags = new[] { "Trial" } },
                new { email = "bulk-other@example.com", city = "Pune" },
            },
        })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(tagged, Assert.Single(await EnrollmentsAsync(app, journey)).ContactId);
        // Upserting the same tag again is no change: no second entry.
        await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/contacts/bulk", new { contacts = new[] { new { email = "bulk-trial@example.com", tags = new[] { "trial" } } } }))
            .ExpectAsync(HttpStatusCode.OK);
        await RunEngineAsync(app);
        Assert.Single(await EnrollmentsAsync(app, journey));
        Assert.Equal(["a"], (await DeliveriesAsync(app, journey)).Select(d => d.Step));
    });

    [Fact]
    public Task Lease_HeldByADeadNode_IsTakenOverOnlyAfterItExpires() => RunAsync(Start, async (app, ws) =>
    {
        var journey = await CreateJourneyAsync(ws, new { name = "Lease", trigger = new { type = "contact_created" }, steps = new object[] { Email("a", "A") } });
        await CreateContactAsync(ws, "lease@example.com");
        var now = Start.UtcDateTime;
        await app.WithDbAsync(db => db.Set<Enrollment>().ExecuteUpdateAsync(s => s
            .SetProperty(e => e.LeaseOwner, "dead-node").SetProperty(e => e.LeaseUntil, now.AddMinutes(1))));
        await RunEngineAsync(app);
        Assert.Empty(await DeliveriesAsync(app, journey));
        app.Clock!.Advance(TimeSpan.FromMinutes(2));
        await RunEngineAsync(app);
        Assert.Single(await DeliveriesAsync(app, journey));
    });

    [Fact]
    public Task Retention_DeletesOldCompletedStepLogs_KeepsFailedOnes() => RunAsync(Start, async (app, ws) =>
    {
        var journey = await CreateJourneyAsync(ws, new { name = "Logs", trigger = new { type = "contact_created" }, steps = new object[] { Email("a", "A") } });
        await CreateContactAsync(ws, "logs@example.com");
        await RunEngineAsync(app);
        var jid = long.Parse(journey);
        await app.WithDbAsync(async db =>
        {
            var e = await db.Set<Enrollment>().FirstAsync(x => x.JourneyId == jid);
            db.Add(new JourneyStepLog { WorkspaceId = ws.Id, JourneyId = jid, EnrollmentId = e.Id, StepId = "a", StepType = "send", Status = JobStatus.Failed, Error = "boom", At = Start.UtcDateTime });
            await db.SaveChangesAsync();
        });
        app.Clock!.Advance(TimeSpan.FromDays(31));
        var r = await RunEngineAsync(app);
        Assert.Equal(1, r.LogsDeleted);
        var left = await app.WithDbAsync(db => db.Set<JourneyStepLog>().Where(l => l.JourneyId == jid).Select(l => l.Status).ToListAsync());
        Assert.Equal([JobStatus.Failed], left);
    });

    /// <summary>Stands in for the audience feature: every segment and filter means "city is Pune".</summary>
    private sealed class CityAudience : IAudienceQuery
    {
        public Task<Validation> ValidateAsync(long workspaceId, AudienceDefinition audience, CancellationToken ct) => Task.FromResult(new Validation());

        public Task<SqlFragment> CompileAsync(long workspaceId, AudienceDefinition audience, CancellationToken ct) =>
            Task.FromResult(new SqlFragment("SELECT id FROM contact WHERE workspace_id = @a0 AND city = @a1 AND deleted_at IS NULL",
                [KeyValuePair.Create("a0", (object?)workspaceId), KeyValuePair.Create("a1", (object?)"Pune")]));
    }
}
