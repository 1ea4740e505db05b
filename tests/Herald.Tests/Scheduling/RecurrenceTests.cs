using Herald.Common;
using Herald.Scheduling;

namespace Herald.Tests.Scheduling;

public sealed class RecurrenceTests
{
    private static readonly TimeZoneInfo Berlin = Zones.Find("Europe/Berlin")!;

    private static DateTime Utc(string s) => DateTime.SpecifyKind(DateTime.Parse(s, System.Globalization.CultureInfo.InvariantCulture), DateTimeKind.Utc);

    private static Schedule Compile(object def, DateTime? now = null)
    {
        var json = System.Text.Json.JsonSerializer.Serialize(def, HeraldJson.Options);
        var d = System.Text.Json.JsonSerializer.Deserialize<ScheduleDefinition>(json, HeraldJson.Options)!;
        var v = new Validation();
        var s = d.Compile("UTC", now ?? Utc("2020-01-01T00:00:00"), v);
        Assert.True(v.IsValid, string.Join("; ", v.ToDictionary().Select(kv => kv.Key + ": " + string.Join(",", kv.Value))));
        return s!;
    }

    private static List<DateTime> Take(Schedule s, DateTime from, int n)
    {
        var list = new List<DateTime>();
        var t = from;
        for (var i = 0; i < n; i++)
        {
            var next = s.Next(t, i, inclusive: i == 0);
            if (next is null) break;
            list.Add(next.Value);
            t = next.Value;
        }
        return list;
    }

    [Theory]
    [InlineData("secondly", 5, "2026-03-01T10:00:00", "2026-03-01T10:00:05")]
    [InlineData("minutely", 15, "2026-03-01T10:00:00", "2026-03-01T10:15:00")]
    [InlineData("hourly", 2, "2026-03-01T10:00:00", "2026-03-01T12:00:00")]
    [InlineData("daily", 3, "2026-03-01T10:00:00", "2026-03-04T10:00:00")]
    [InlineData("weekly", 1, "2026-03-01T10:00:00", "2026-03-08T10:00:00")]
    [InlineData("monthly", 2, "2026-03-01T10:00:00", "2026-05-01T10:00:00")]
    public void Next_EveryFrequency_StepsByIntervalInTheZone(string frequency, int interval, string first, string second)
    {
        var s = Compile(new { type = "recurring", frequency, interval, startAt = first, timezone = "UTC" });
        Assert.Equal(new[] { Utc(first), Utc(second) }, Take(s, Utc("2026-01-01T00:00:00"), 2));
        // Asking in the middle of a step lands on the next slot, not the one before.
        Assert.Equal(Utc(second), s.Next(Utc(first).AddTicks(1), 1));
    }

    [Fact]
    public void Next_DailyBerlinAcrossBothDstChanges_StaysNineLocal()
    {
        var s = Compile(new { type = "recurring", frequency = "daily", startAt = "2026-03-27T09:00:00", timezone = "Europe/Berlin" });
        var times = Take(s, Utc("2026-03-01T00:00:00"), 3);
        Assert.Equal(new[] { Utc("2026-03-27T08:00:00"), Utc("2026-03-28T08:00:00"), Utc("2026-03-29T07:00:00") }, times);
        Assert.All(times, t => Assert.Equal(9, Zones.ToLocal(t, Berlin).Hour));
        var autumn = s.Next(Utc("2026-10-24T12:00:00"), 10)!.Value;
        Assert.Equal(Utc("2026-10-25T08:00:00"), autumn); // CET again: 09:00 local = 08:00 UTC
    }

    [Fact]
    public void Next_NonexistentLocalTime_MovesForwardToTheTransition()
    {
        // 2026-03-29 02:00 -> 03:00 in Berlin: 02:30 does not exist that day.
        var s = Compile(new { type = "recurring", frequency = "daily", startAt = "2026-03-28T02:30:00", timezone = "Europe/Berlin" });
        var times = Take(s, Utc("2026-03-01T00:00:00"), 3);
        Assert.Equal(Utc("2026-03-28T01:30:00"), times[0]);
        Assert.Equal(Utc("2026-03-29T01:00:00"), times[1]); // 03:00 CEST, the first valid instant
        Assert.Equal(Utc("2026-03-30T00:30:00"), times[2]); // back to 02:30 local
    }

    [Fact]
    public void Next_RepeatedLocalTime_FiresOnceOnTheFirstOccurrence()
    {
        // 2026-10-25 03:00 -> 02:00 in Berlin: 02:30 happens twice (00:30 and 01:30 UTC).
        var s = Compile(new { type = "recurring", frequency = "daily", startAt = "2026-10-24T02:30:00", timezone = "Europe/Berlin" });
        var times = Take(s, Utc("2026-10-01T00:00:00"), 3);
        Assert.Equal(new[] { Utc("2026-10-24T00:30:00"), Utc("2026-10-25T00:30:00"), Utc("2026-10-26T01:30:00") }, times);
        Assert.Equal(Utc("2026-10-26T01:30:00"), s.Next(Utc("2026-10-25T00:30:00"), 2)); // not again at 01:30 UTC
    }

    [Fact]
    public void Next_HourlyAcrossDstForward_KeepsRealHours()
    {
        var s = Compile(new { type = "recurring", frequency = "hourly", startAt = "2026-03-29T01:00:00", timezone = "Europe/Berlin" });
        var times = Take(s, Utc("2026-03-01T00:00:00"), 3);
        Assert.Equal(new[] { Utc("2026-03-29T00:00:00"), Utc("2026-03-29T01:00:00"), Utc("2026-03-29T02:00:00") }, times);
    }

    [Fact]
    public void Next_MonthlyOnThe31st_FallsOnTheLastDayOfShorterMonths()
    {
        var s = Compile(new { type = "recurring", frequency = "monthly", startAt = "2026-01-31T10:00:00", timezone = "UTC" });
        var times = Take(s, Utc("2026-01-01T00:00:00"), 5);
        Assert.Equal(new[] { "2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31" }, times.Select(t => t.ToString("yyyy-MM-dd")).ToArray());
        var leap = Compile(new { type = "recurring", frequency = "monthly", startAt = "2028-01-31T10:00:00", timezone = "UTC" });
        Assert.Equal(Utc("2028-02-29T10:00:00"), leap.Next(Utc("2028-02-01T00:00:00"), 1));
    }

    [Fact]
    public void Next_EndAtAndMaxOccurrences_EndTheSchedule()
    {
        var ended = Compile(new { type = "recurring", frequency = "daily", startAt = "2026-03-01T10:00:00", endAt = "2026-03-03T10:00:00", timezone = "UTC" });
        Assert.Equal(3, Take(ended, Utc("2026-01-01T00:00:00"), 10).Count);
        var capped = Compile(new { type = "recurring", frequency = "minutely", startAt = "2026-03-01T10:00:00", maxOccurrences = 4, timezone = "UTC" });
        Assert.Equal(4, Take(capped, Utc("2026-01-01T00:00:00"), 10).Count);
        Assert.Null(capped.Next(Utc("2026-03-01T10:05:00"), 4));
        var cron = Compile(new { type = "cron", expression = "0 9 * * *", timezone = "UTC", endAt = "2026-03-02T12:00:00" });
        Assert.Equal(2, Take(cron, Utc("2026-03-01T00:00:00"), 10).Count);
    }

    [Fact]
    public void Next_CronInBerlin_IsDstCorrectAndAcceptsSeconds()
    {
        var s = Compile(new { type = "cron", expression = "0 9 * * MON-FRI", timezone = "Europe/Berlin" });
        Assert.Equal(Utc("2026-03-27T08:00:00"), s.Next(Utc("2026-03-27T00:00:00"), 0)); // Friday, CET
        Assert.Equal(Utc("2026-03-30T07:00:00"), s.Next(Utc("2026-03-27T08:00:00"), 1)); // Monday, CEST
        var six = Compile(new { type = "cron", expression = "*/10 * * * * *", timezone = "UTC" });
        Assert.Equal(Utc("2026-03-01T10:00:10"), six.Next(Utc("2026-03-01T10:00:00"), 0));
    }

    [Theory]
    [InlineData("""{"type":"once","at":"2026-12-01T09:00:00","timezone":"Mars/Olympus"}""", "schedule.timezone")]
    [InlineData("""{"type":"cron","expression":"61 * * * *","timezone":"UTC"}""", "schedule.expression")]
    [InlineData("""{"type":"cron","expression":"* * *","timezone":"UTC"}""", "schedule.expression")]
    [InlineData("""{"type":"once","at":"2019-12-01T09:00:00","timezone":"UTC"}""", "schedule.at")]
    [InlineData("""{"type":"recurring","frequency":"daily","interval":0,"startAt":"2026-12-01T09:00:00"}""", "schedule.interval")]
    [InlineData("""{"type":"recurring","frequency":"fortnightly","startAt":"2026-12-01T09:00:00"}""", "schedule.frequency")]
    [InlineData("""{"type":"recurring","frequency":"daily","startAt":"2026-12-01T09:00:00","endAt":"2026-11-01T09:00:00"}""", "schedule.endAt")]
    [InlineData("""{"type":"later"}""", "schedule.type")]
    public void Compile_InvalidDefinition_NamesTheField(string json, string field)
    {
        var d = System.Text.Json.JsonSerializer.Deserialize<ScheduleDefinition>(json, HeraldJson.Options)!;
        var v = new Validation();
        Assert.Null(d.Compile("UTC", Utc("2020-01-01T00:00:00"), v));
        Assert.Contains(field, v.ToDictionary().Keys);
    }

    [Fact]
    public void Compile_OnceInThePastWithAllowPast_IsAccepted()
    {
        var d = new ScheduleDefinition { Type = "once", At = "2019-12-01T09:00:00", Timezone = "Asia/Kolkata", AllowPast = true };
        var v = new Validation();
        var s = Assert.IsType<Schedule.Once>(d.Compile("UTC", Utc("2020-01-01T00:00:00"), v));
        Assert.Equal(Utc("2019-12-01T03:30:00"), s.AtUtc);
    }
}
