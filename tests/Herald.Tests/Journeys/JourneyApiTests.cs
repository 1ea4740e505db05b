using System.Net;
using Herald.Auth;
using Herald.Journeys;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using static Herald.Tests.Journeys.JourneyTestKit;

namespace Herald.Tests.Journeys;

public sealed class JourneyApiTests(HeraldApp app) : IClassFixture<HeraldApp>
{
    private static object Valid(params object[] steps) => new { name = "J", trigger = new { type = "contact_created" }, steps };

    private async Task<System.Text.Json.JsonElement> RejectAsync(object body)
    {
        var ws = await app.CreateWorkspaceAsync();
        var problem = await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/journeys", body)).ExpectAsync(HttpStatusCode.BadRequest);
        return Errors(problem);
    }

    [Fact]
    public async Task Create_UnknownStepType_NamesTheStepPath()
    {
        var errors = await RejectAsync(Valid(Email("a", "A"), new { type = "teleport" }));
        Assert.Contains("Unknown step type 'teleport'", errors.GetProperty("steps[1].type")[0].GetString());
    }

    [Fact]
    public async Task Create_BranchToMissingStep_NamesTheBranchField()
    {
        var errors = await RejectAsync(Valid(Email("a", "A"), new { type = "branch", on = "opened", step = "a", then = "nowhere", @else = "a" }));
        Assert.Contains("nowhere", errors.GetProperty("steps[1].then")[0].GetString());
    }

    [Fact]
    public async Task Create_UnreachableStep_NamesIt()
    {
        var errors = await RejectAsync(Valid(Email("a", "A"), new { id = "stop", type = "exit" }, Email("orphan", "Never")));
        Assert.Contains("unreachable", errors.GetProperty("steps[2]")[0].GetString());
    }

    [Fact]
    public async Task Create_LoopWithoutWait_IsRejected_ButALoopThroughAWaitIsFine()
    {
        var errors = await RejectAsync(Valid(Email("a", "A"), new { id = "b", type = "branch", on = "opened", step = "a", then = "a", @else = "a" }));
        Assert.True(errors.EnumerateObject().Any(e => e.Value[0].GetString()!.Contains("loop without a wait")), errors.ToString());

        var ws = await app.CreateWorkspaceAsync();
        await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/journeys", Valid(Email("a", "A"), new { type = "wait", duration = "P1D", next = "a" })))
            .ExpectAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Create_BadDurationsAndWindows_NameTheirFields()
    {
        var errors = await RejectAsync(new
        {
            name = "", trigger = new { type = "birthday" }, reentry = "sometimes",
            steps = new object[]
            {
                new { type = "wait", duration = "3 days" },
                new { type = "wait_window", days = new[] { "monday" }, start = "9am", end = "18:00" },
                new { type = "send", channel = "fax" },
            },
        });
        foreach (var key in new[] { "name", "trigger.type", "reentry", "steps[0].duration", "steps[1].days[0]", "steps[1].start", "steps[2].channel" })
            Assert.True(errors.TryGetProperty(key, out _), $"missing {key} in {errors}");
    }

    [Fact]
    public async Task Create_SegmentTrigger_NeedsAnExistingSegment()
    {
        var ws = await app.CreateWorkspaceAsync();
        var seg = await (await ws.Client().PostJsonAsync("/api/v1/segments", new { name = "VIP", filter = new { totalSpent = new { gte = 5000 } } })).ExpectAsync(HttpStatusCode.Created);
        var created = await ws.Client(Role.Editor).PostJsonAsync("/api/v1/journeys",
            new { name = "Seg", trigger = new { type = "segment_entered", segmentId = seg.GetProperty("id").GetString() }, steps = new object[] { Email("a", "A") } });
        await created.ExpectAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task CreateGetList_RoundTripsTheDefinition_AndAudits()
    {
        var ws = await app.CreateWorkspaceAsync();
        var id = await CreateJourneyAsync(ws, new
        {
            name = "Birthday", trigger = new { type = "date_attribute", attribute = "attributes.birthday", offsetDays = -1, at = "10:00" },
            steps = new object[] { Email("hb", "Happy birthday eve") }, reentry = "always", exitOn = new[] { "unsubscribe" },
        }, activate: false);
        var j = await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/journeys/{id}")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(("draft", 1, "always"), (j.GetProperty("status").GetString(), j.GetProperty("version").GetInt32(), j.GetProperty("reentry").GetString()));
        Assert.Equal(-1, j.GetProperty("trigger").GetProperty("offsetDays").GetInt32());
        Assert.Equal("hb", j.GetProperty("steps")[0].GetProperty("id").GetString());
        var list = await (await ws.Client(Role.Viewer).GetAsync("/api/v1/journeys?status=draft")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(1, list.GetProperty("total").GetInt32());
        // Draft edits do not version.
        var put = await (await ws.Client(Role.Editor).PutJsonAsync($"/api/v1/journeys/{id}", new { name = "Birthday 2", trigger = new { type = "contact_created" }, steps = new object[] { Email("x", "X") } }))
            .ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(1, put.GetProperty("version").GetInt32());
        await (await ws.Client(Role.Editor).PostAsync($"/api/v1/journeys/{id}/pause", null)).ExpectAsync(HttpStatusCode.Conflict);
        var audit = await (await ws.Client().GetAsync($"/api/v1/audit?targetType=journey&targetId={id}")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(["journey.update", "journey.create"], audit.GetProperty("items").EnumerateArray().Select(a => a.GetProperty("action").GetString()));
    }

    /// <summary>Two engine nodes on one database, racing over the same due enrollments: every step runs exactly once.</summary>
    [Fact]
    public async Task TwoEngines_SameEnrollments_NeverRunAStepTwice()
    {
        var ws = await app.CreateWorkspaceAsync();
        var id = await CreateJourneyAsync(ws, new
        {
            name = "Race", trigger = new { type = "contact_created" },
            steps = new object[] { Email("one", "One"), new { id = "b", type = "branch", on = "opened", step = "one", then = "two", @else = "two" }, Email("two", "Two") },
        });
        const int contacts = 400;
        var bulk = Enumerable.Range(0, contacts).Select(i => new { email = $"race{i}-{Guid.NewGuid():N}@example.com" }).ToArray();
        await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/contacts/bulk", new { contacts = bulk })).ExpectAsync(HttpStatusCode.OK);

        JourneyEngine Node(string name) => new(app.Services.GetRequiredService<IServiceScopeFactory>(), TimeProvider.System,
            Options.Create(new JourneyEngineOptions { NodeId = name, BatchSize = 25, MaxChain = 1 }), new JourneyPlanCache(), NullLogger<JourneyEngine>.Instance);
        async Task<int> Drain(JourneyEngine e)
        {
            var steps = 0;
            for (var idle = 0; idle < 3;)
            {
                var r = await e.RunOnceAsync(default);
                steps += r.StepsExecuted;
                idle = r.Claimed == 0 ? idle + 1 : 0;
            }
            return steps;
        }
        var results = await Task.WhenAll(Drain(Node("node-a")), Drain(Node("node-b")));
        Assert.Equal(contacts * 3, results.Sum());
        // On PostgreSQL both nodes take batches (SKIP LOCKED); SQLite has one writer, so one node may take everything.
        if (TestDatabase.IsPostgres) Assert.All(results, n => Assert.True(n > 0, "both nodes should have done work"));
        var jid = long.Parse(id);
        await app.WithDbAsync(async db =>
        {
            var logs = await db.Set<JourneyStepLog>().AsNoTracking().Where(l => l.JourneyId == jid).Select(l => new { l.EnrollmentId, l.StepId }).ToListAsync();
            Assert.Equal(contacts * 3, logs.Count);
            Assert.Equal(logs.Count, logs.Distinct().Count());
            Assert.Equal(contacts, await db.Set<Enrollment>().CountAsync(e => e.JourneyId == jid && e.State == EnrollmentState.Completed));
        });
        var deliveries = await DeliveriesAsync(app, id);
        Assert.Equal(contacts * 2, deliveries.Count);
        Assert.Equal(deliveries.Count, deliveries.Select(d => (d.Row.ContactId, d.Step)).Distinct().Count());
    }
}
