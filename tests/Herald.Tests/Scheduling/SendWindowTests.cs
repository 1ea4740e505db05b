using Herald.Common;
using Herald.Scheduling;

namespace Herald.Tests.Scheduling;

public sealed class SendWindowTests
{
    private static DateTime Utc(string s) => DateTime.SpecifyKind(DateTime.Parse(s, System.Globalization.CultureInfo.InvariantCulture), DateTimeKind.Utc);

    private static SendWindow Window(string[]? days, string start, string end)
    {
        var v = new Validation();
        var w = new SendWindowDefinition { Days = days?.ToList(), Start = start, End = end, Timezone = "Asia/Kolkata" }.Compile(v);
        Assert.True(v.IsValid);
        return w!;
    }

    private static readonly TimeZoneInfo Kolkata = Zones.Find("Asia/Kolkata")!;
    private static readonly TimeZoneInfo Berlin = Zones.Find("Europe/Berlin")!;
    private static readonly string[] Weekdays = ["mon", "tue", "wed", "thu", "fri"];

    [Fact]
    public void NextOpening_InsideTheWindow_IsTheInstantItself()
    {
        var w = Window(Weekdays, "09:00", "18:00");
        var wednesdayNoonIst = Utc("2026-12-02T06:30:00");
        Assert.Equal(wednesdayNoonIst, w.NextOpening(wednesdayNoonIst, Kolkata));
    }

    [Fact]
    public void NextOpening_AfterHoursOnFriday_IsMondayMorning()
    {
        var w = Window(Weekdays, "09:00", "18:00");
        var fridayEveningIst = Utc("2026-12-04T13:00:00"); // 18:30 IST
        Assert.Equal(Utc("2026-12-07T03:30:00"), w.NextOpening(fridayEveningIst, Kolkata)); // Monday 09:00 IST
    }

    [Fact]
    public void NextOpening_BeforeOpeningSameDay_IsTodaysStart()
    {
        var w = Window(null, "09:00", "18:00");
        Assert.Equal(Utc("2026-12-02T03:30:00"), w.NextOpening(Utc("2026-12-01T22:00:00"), Kolkata));
    }

    [Fact]
    public void NextOpening_OvernightWindow_IsOpenAfterMidnight()
    {
        var w = Window(["fri"], "22:00", "06:00");
        var saturdayTwoAmIst = Utc("2026-12-04T20:30:00");
        Assert.Equal(saturdayTwoAmIst, w.NextOpening(saturdayTwoAmIst, Kolkata));
        Assert.Equal(Utc("2026-12-11T16:30:00"), w.NextOpening(Utc("2026-12-05T01:00:00"), Kolkata)); // next Friday 22:00
    }

    [Fact]
    public void NextOpening_OpeningSkippedByDst_OpensAtTheTransition()
    {
        var v = new Validation();
        var w = new SendWindowDefinition { Start = "02:30", End = "05:00", Timezone = "Europe/Berlin" }.Compile(v)!;
        Assert.Equal(Utc("2026-03-29T01:00:00"), w.NextOpening(Utc("2026-03-28T23:00:00"), Berlin));
    }

    [Theory]
    [InlineData("funday", "09:00", "18:00", "UTC", "sendWindow.days")]
    [InlineData("mon", "9am", "18:00", "UTC", "sendWindow.start")]
    [InlineData("mon", "09:00", "25:00", "UTC", "sendWindow.end")]
    [InlineData("mon", "09:00", "18:00", "Nowhere/Land", "sendWindow.timezone")]
    public void Compile_Invalid_NamesTheField(string day, string start, string end, string tz, string field)
    {
        var v = new Validation();
        Assert.Null(new SendWindowDefinition { Days = [day], Start = start, End = end, Timezone = tz }.Compile(v));
        Assert.Contains(field, v.ToDictionary().Keys);
    }
}
