using System.Net;
using Herald.Auth;
using Herald.Campaigns;
using Herald.Delivery;
using Herald.Journeys;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static Herald.Tests.Journeys.JourneyTestKit;

namespace Herald.Tests.Journeys;

public sealed class JourneyEngineTests
{
    // Saturday 2026-11-28 19:00 UTC = Sunday 00:30 in Kolkata (UTC+05:30): outside a weekday window.
    private static readonly DateTimeOffset Saturday = new(2026, 11, 28, 19, 0, 0, TimeSpan.Zero);

    [Fact]
    public Task WelcomeSequence_WeekdayWindowInContactTimezone_SendsAtLocalOpenings() => RunAsync(Saturday, async (app, ws) =>
    {
        var journey = await CreateJourneyAsync(ws, new
        {
            name = "Welcome",
            trigger = new { type = "contact_created" },
            sendWindow = new { days = new[] { "mon", "tue", "wed", "thu", "fri" }, start = "09:00", end = "18:00" },
            steps = new object[]
            {
                Email("welcome", "Welcome"),
                new { id = "wait3", type = "wait", duration = "P3D" },
                Email("tips", "Tips"),
                new { id = "wait4", type = "wait", duration = "P4D" },
                Email("offer", "Offer"),
            },
        });
        var contact = await CreateContactAsync(ws, "new@example.com", "Asia/Kolkata");

        // Enrolled at once by the contact_created trigger, before the engine ran.
        var enrollment = Assert.Single(await EnrollmentsAsync(app, journey));
        Assert.Equal(contact, enrollment.ContactId);
        Assert.Equal(Saturday.UtcDateTime, enrollment.EnteredAt);

        await RunEngineAsync(app);
        Assert.Empty(await DeliveriesAsync(app, journey));
        var mondayNine = Utc("2026-11-30T03:30:00Z"); // Monday 09:00 Kolkata
        Assert.Equal(mondayNine, Assert.Single(await EnrollmentsAsync(app, journey)).NextActionAt);

        SetNow(app, mondayNine.AddMinutes(-1));
        await RunEngineAsync(app);
        Assert.Empty(await DeliveriesAsync(app, journey));

        SetNow(app, mondayNine);
        await RunEngineAsync(app);
        var first = Assert.Single(await DeliveriesAsync(app, journey));
        Assert.Equal("welcome", first.Step);
        Assert.Equal((mondayNine, mondayNine), (first.Row.CreatedAt, first.Row.NextAttemptAt));
        Assert.Equal(("new@example.com", DeliveryStatus.Pending, false), (first.Row.Address, first.Row.Status, first.Row.Test));

        var thursdayNine = mondayNine.AddDays(3); // Thursday 09:00 Kolkata: inside the window
        Assert.Equal(thursdayNine, Assert.Single(await EnrollmentsAsync(app, journey)).NextActionAt);
        SetNow(app, thursdayNine);
        await RunEngineAsync(app);
        var second = (await DeliveriesAsync(app, journey))[1];
        Assert.Equal(("tips", thursdayNine), (second.Step, second.Row.CreatedAt));

        var mondayAgain = thursdayNine.AddDays(4); // Monday 2026-12-07 09:00 Kolkata
        SetNow(app, mondayAgain);
        await RunEngineAsync(app);
        var all = await DeliveriesAsync(app, journey);
        Assert.Equal(["welcome", "tips", "offer"], all.Select(d => d.Step));
        Assert.Equal(mondayAgain, all[2].Row.CreatedAt);
        foreach (var (_, row) in all)
        {
            var local = TimeZoneInfo.ConvertTimeFromUtc(row.CreatedAt, TimeZoneInfo.FindSystemTimeZoneById("Asia/Kolkata"));
            Assert.InRange(local.DayOfWeek, DayOfWeek.Monday, DayOfWeek.Friday);
            Assert.InRange(local.TimeOfDay, TimeSpan.FromHours(9), TimeSpan.FromHours(18));
        }
        var done = Assert.Single(await EnrollmentsAsync(app, journey));
        Assert.Equal((EnrollmentState.Completed, (string?)null, (DateTime?)mondayAgain), (done.State, done.StepId, done.ExitedAt));

        // Each send step is a hidden running campaign with one running run whose counters include the delivery.
        await app.WithDbAsync(async db =>
        {
            var campaigns = await db.Set<Campaign>().AsNoTracking().Where(c => c.JourneyId == long.Parse(journey)).ToListAsync();
            Assert.Equal(3, campaigns.Count);
            Assert.All(campaigns, c => Assert.Equal((CampaignStatus.Running, "system", false), (c.Status, c.CreatedBy, c.TestMode)));
            Assert.Contains(campaigns, c => c.Name == $"journey:{journey}:v1:welcome");
            var runs = await db.Set<CampaignRun>().AsNoTracking().Where(r => campaigns.Select(c => c.Id).Contains(r.CampaignId)).ToListAsync();
            Assert.Equal(3, runs.Count);
            Assert.All(runs, r => Assert.Equal((RunStatus.Running, 1, 1), (r.Status, r.Total, r.Pending)));
        });
    });

    [Fact]
    public Task Branch_OnOpenedOfEarlierStep_TakesThenForOpenersAndElseForOthers() => RunAsync(Saturday, async (app, ws) =>
    {
        var journey = await CreateJourneyAsync(ws, new
        {
            name = "Nudge", trigger = new { type = "contact_created" },
            steps = new object[]
            {
                Email("hello", "Hello"),
                new { id = "pause", type = "wait", duration = "PT1H" },
                new { id = "opened", type = "branch", on = "opened", step = "hello", within = "P1D", then = "thanks", @else = "reminder" },
                Email("thanks", "Thanks for reading", next: "done"),
                Email("reminder", "Did you see this?"),
                new { id = "done", type = "exit" },
            },
        });
        var reader = await CreateContactAsync(ws, "reader@example.com");
        var ignorer = await CreateContactAsync(ws, "ignorer@example.com");
        await RunEngineAsync(app);
        var hello = await DeliveriesAsync(app, journey);
        Assert.Equal(2, hello.Count);
        var readerDelivery = hello.Single(d => d.Row.ContactId == reader).Row.Id;
        await app.WithDbAsync(db => db.Set<DeliveryRow>().Where(d => d.Id == readerDelivery)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.OpenedAt, Saturday.UtcDateTime.AddMinutes(10))));

        app.Clock!.Advance(TimeSpan.FromHours(1));
        await RunEngineAsync(app);
        var all = await DeliveriesAsync(app, journey);
        Assert.Equal("thanks", all.Single(d => d.Row.ContactId == reader && d.Step != "hello").Step);
        Assert.Equal("reminder", all.Single(d => d.Row.ContactId == ignorer && d.Step != "hello").Step);
        var states = (await EnrollmentsAsync(app, journey)).ToDictionary(e => e.ContactId, e => e.State);
        Assert.Equal(EnrollmentState.Exited, states[reader]);
        Assert.Equal(EnrollmentState.Exited, states[ignorer]); // reminder falls through to the exit step
    });

    [Fact]
    public Task ExitOn_OrderEvent_StopsTheRemainingSteps() => RunAsync(Saturday, async (app, ws) =>
    {
        var journey = await CreateJourneyAsync(ws, new
        {
            name = "Win-back", trigger = new { type = "contact_created" }, exitOn = new[] { "order" },
            steps = new object[] { Email("one", "We miss you"), new { type = "wait", duration = "P2D" }, Email("two", "Last chance") },
        });
        var buyer = await CreateContactAsync(ws, "buyer@example.com");
        var browser = await CreateContactAsync(ws, "browser@example.com");
        await RunEngineAsync(app);
        await (await ws.Client(Role.Editor).PostJsonAsync($"/api/v1/contacts/{buyer}/events", new { type = "order", value = 40 })).ExpectAsync(HttpStatusCode.Created);
        var exited = (await EnrollmentsAsync(app, journey)).Single(e => e.ContactId == buyer);
        Assert.Equal(EnrollmentState.Exited, exited.State);

        app.Clock!.Advance(TimeSpan.FromDays(2));
        await RunEngineAsync(app);
        var deliveries = await DeliveriesAsync(app, journey);
        Assert.Equal(["one"], deliveries.Where(d => d.Row.ContactId == buyer).Select(d => d.Step));
        Assert.Equal(["one", "two"], deliveries.Where(d => d.Row.ContactId == browser).Select(d => d.Step));
    });

    [Theory]
    [InlineData("never", 1, 1)]
    [InlineData("after_exit", 1, 2)]
    [InlineData("always", 2, 3)]
    public Task Reentry_Policy_DecidesWhetherARepeatedTriggerEnrollsAgain(string policy, int whileActive, int afterFinish) => RunAsync(Saturday, async (app, ws) =>
    {
        var journey = await CreateJourneyAsync(ws, new
        {
            name = "Signup " + policy, reentry = policy, trigger = new { type = "event", eventType = "signup", properties = new { plan = "pro" } },
            steps = new object[] { Email("hi", "Hi"), new { type = "wait", duration = "P1D" } },
        });
        var contact = await CreateContactAsync(ws, "again@example.com");
        async Task Signup(string plan) => await (await ws.Client(Role.Editor).PostJsonAsync($"/api/v1/contacts/{contact}/events",
            new { type = "signup", properties = new { plan } })).ExpectAsync(HttpStatusCode.Created);

        await Signup("free"); // property filter does not match
        Assert.Empty(await EnrollmentsAsync(app, journey));
        await Signup("pro");
        await RunEngineAsync(app);
        await Signup("pro"); // while the first enrollment is still waiting
        Assert.Equal(whileActive, (await EnrollmentsAsync(app, journey)).Count);

        app.Clock!.Advance(TimeSpan.FromDays(1));
        await RunEngineAsync(app); // the wait ends: enrollments complete
        await Signup("pro");
        await RunEngineAsync(app);
        var enrollments = await EnrollmentsAsync(app, journey);
        Assert.Equal(afterFinish, enrollments.Count);
        Assert.Equal(Enumerable.Range(1, afterFinish), enrollments.Select(e => e.Entry));
        // Every entry sent its own message (one hidden run per entry keeps the send idempotency key per entry).
        Assert.Equal(afterFinish, (await DeliveriesAsync(app, journey)).Count);
    });

    [Fact]
    public Task Edit_WhileActive_MakesANewVersionAndEnrolledContactsFinishOnTheirs() => RunAsync(Saturday, async (app, ws) =>
    {
        object Body(string subject, string stepId) => new
        {
            name = "Drip", trigger = new { type = "contact_created" },
            steps = new object[] { new { id = "w", type = "wait", duration = "P1D" }, Email(stepId, subject) },
        };
        var journey = await CreateJourneyAsync(ws, Body("Old news", "old"));
        var early = await CreateContactAsync(ws, "early@example.com");
        await RunEngineAsync(app);

        var edited = await (await ws.Client(Role.Editor).PutJsonAsync($"/api/v1/journeys/{journey}", Body("New news", "new"))).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(2, edited.GetProperty("version").GetInt32());
        Assert.Equal("active", edited.GetProperty("status").GetString());
        var late = await CreateContactAsync(ws, "late@example.com");
        await RunEngineAsync(app); // late starts its wait on version 2

        app.Clock!.Advance(TimeSpan.FromDays(1));
        await RunEngineAsync(app);
        var versions = (await EnrollmentsAsync(app, journey)).ToDictionary(e => e.ContactId, e => e.Version);
        Assert.Equal((1, 2), (versions[early], versions[late]));
        var deliveries = await DeliveriesAsync(app, journey);
        Assert.Equal("old", deliveries.Single(d => d.Row.ContactId == early).Step);
        Assert.Equal("new", deliveries.Single(d => d.Row.ContactId == late).Step);
        var audit = await (await ws.Client().GetAsync($"/api/v1/audit?targetType=journey&targetId={journey}")).ExpectAsync(HttpStatusCode.OK);
        Assert.Contains(audit.GetProperty("items").EnumerateArray(), a => a.GetProperty("action").GetString() == "journey.update");
    });

    [Fact]
    public Task TestMode_RunsFullyWithSendsMarkedTest() => RunAsync(Saturday, async (app, ws) =>
    {
        var journey = await CreateJourneyAsync(ws, new
        {
            name = "Dry run", testMode = true, trigger = new { type = "tag_added", tag = "trial" },
            steps = new object[] { Email("a", "A"), new { type = "wait", duration = "PT10S" }, Email("b", "B") },
        });
        var contact = await CreateContactAsync(ws, "trial@example.com");
        await (await ws.Client(Role.Editor).PatchJsonAsync($"/api/v1/contacts/{contact}", new { tags = new[] { "trial" } })).ExpectAsync(HttpStatusCode.OK);
        await RunEngineAsync(app);
        app.Clock!.Advance(TimeSpan.FromSeconds(10));
        await RunEngineAsync(app);
        var deliveries = await DeliveriesAsync(app, journey);
        Assert.Equal(["a", "b"], deliveries.Select(d => d.Step));
        Assert.All(deliveries, d => Assert.True(d.Row.Test));
        Assert.True(await app.WithDbAsync(db => db.Set<Campaign>().Where(c => c.JourneyId == long.Parse(journey)).AllAsync(c => c.TestMode)));
        Assert.Equal(EnrollmentState.Completed, Assert.Single(await EnrollmentsAsync(app, journey)).State);
    });

    [Fact]
    public Task Send_ContactWithoutConsentOrOverCap_IsSkippedWithReason() => RunAsync(Saturday, async (app, ws) =>
    {
        var journey = await CreateJourneyAsync(ws, new
        {
            name = "Capped", trigger = new { type = "contact_created" },
            steps = new object[]
            {
                Email("first", "First"),
                new { id = "second", type = "send", channel = "email", content = new { email = new { subject = "S", text = "S" } },
                      frequencyCap = new { max = 1, period = "P1D" } },
                new { id = "sms", type = "send", channel = "sms", content = new { sms = new { body = "hi" } } },
            },
        });
        var contact = await CreateContactAsync(ws, "capped@example.com");
        await RunEngineAsync(app);
        var rows = await DeliveriesAsync(app, journey);
        Assert.Equal([("first", DeliveryStatus.Pending, (string?)null), ("second", DeliveryStatus.Skipped, "capped"), ("sms", DeliveryStatus.Skipped, "no_address")],
            rows.Select(r => (r.Step, r.Row.Status, r.Row.Reason)));
        var status = await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/journeys/{journey}/status")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(1, status.GetProperty("enrollments").GetProperty("completed").GetInt32());
        Assert.Equal(3, status.GetProperty("jobs").GetProperty("completed").GetInt32());
        var jobs = await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/journeys/{journey}/jobs?status=completed")).ExpectAsync(HttpStatusCode.OK);
        Assert.Contains(jobs.GetProperty("items").EnumerateArray(), j => j.GetProperty("outcome").GetString() == "skipped:capped");
    });

    [Fact]
    public Task Split_SameContactAlwaysTakesTheSameBranch_AndWeightsShareTheAudience() => RunAsync(Saturday, async (app, ws) =>
    {
        var journey = await CreateJourneyAsync(ws, new
        {
            name = "AB", trigger = new { type = "contact_created" },
            steps = new object[]
            {
                new { id = "ab", type = "split", branches = new object[] { new { weight = 50, next = "a" }, new { weight = 50, next = "b" } } },
                Email("a", "A", next: "end"), Email("b", "B"), new { id = "end", type = "exit" },
            },
        });
        var bulk = Enumerable.Range(0, 200).Select(i => new { email = $"split{i}@example.com" }).ToArray();
        await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/contacts/bulk", new { contacts = bulk })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(200, (await EnrollmentsAsync(app, journey)).Count);
        await RunEngineAsync(app);
        var rows = await DeliveriesAsync(app, journey);
        Assert.Equal(200, rows.Count);
        Assert.InRange(rows.Count(r => r.Step == "a"), 70, 130);
        Assert.All(rows, r => Assert.Equal(JourneyEngine.Bucket(r.Row.ContactId, "ab", 100) < 50 ? "a" : "b", r.Step));
    });

    [Fact]
    public Task ManualEnroll_PausedJourney_Answers409_AndPausedJourneyDoesNotRun() => RunAsync(Saturday, async (app, ws) =>
    {
        var journey = await CreateJourneyAsync(ws, new
        {
            name = "Manual", trigger = new { type = "event", eventType = "never-sent" },
            steps = new object[] { new { type = "wait", duration = "PT1M" }, Email("only", "Only") },
        });
        var contact = await CreateContactAsync(ws, "manual@example.com");
        var r = await (await ws.Client(Role.Editor).PostJsonAsync($"/api/v1/journeys/{journey}/enroll", new { contactIds = new[] { contact.ToString(), "999999" } }))
            .ExpectAsync(HttpStatusCode.OK);
        Assert.Equal((2, 1, 1), (r.GetProperty("requested").GetInt32(), r.GetProperty("enrolled").GetInt32(), r.GetProperty("skipped").GetInt32()));
        await RunEngineAsync(app);
        await (await ws.Client(Role.Editor).PostAsync($"/api/v1/journeys/{journey}/pause", null)).ExpectAsync(HttpStatusCode.OK);
        app.Clock!.Advance(TimeSpan.FromMinutes(5));
        await RunEngineAsync(app);
        Assert.Empty(await DeliveriesAsync(app, journey));
        var conflict = await (await ws.Client(Role.Editor).PostJsonAsync($"/api/v1/journeys/{journey}/enroll", new { contactIds = new[] { contact.ToString() } }))
            .ExpectAsync(HttpStatusCode.Conflict);
        Assert.Equal("paused", conflict.GetProperty("currentState").GetString());
        await (await ws.Client(Role.Editor).PostAsync($"/api/v1/journeys/{journey}/activate", null)).ExpectAsync(HttpStatusCode.OK);
        await RunEngineAsync(app);
        Assert.Single(await DeliveriesAsync(app, journey));
        var enrollments = await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/journeys/{journey}/enrollments?state=completed")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(1, enrollments.GetProperty("total").GetInt32());
        Assert.Equal(2, enrollments.GetProperty("items")[0].GetProperty("history").GetArrayLength());
    });
}
