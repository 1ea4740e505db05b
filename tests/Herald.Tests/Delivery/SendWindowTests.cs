using Herald.Delivery;

namespace Herald.Tests.Delivery;

public sealed class SendWindowTests
{
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
    private static DateTime Utc(int y, int m, int d, int h, int min = 0) => new(y, m, d, h, min, 0, DateTimeKind.Utc);

    [Fact]
    public void NextOpening_InsideWindow_IsNow()
    {
        var w = SendWindow.Parse("""{"days":["wed"],"start":"09:00","end":"18:00","timezone":"Europe/Berlin"}""")!;
        Assert.Equal(Utc(2026, 11, 25, 10), w.NextOpening(Utc(2026, 11, 25, 10), Berlin));
    }

    [Fact]
    public void NextOpening_AfterCloseOnFriday_IsMondayMorningLocal()
    {
        var w = SendWindow.Parse("""{"days":["mon","tue","wed","thu","fri"],"start":"09:00","end":"18:00"}""")!;
        // Fri 27 Nov 2026 18:30 Berlin (17:30 UTC) -> Mon 30 Nov 09:00 Berlin = 08:00 UTC.
        Assert.Equal(Utc(2026, 11, 30, 8), w.NextOpening(Utc(2026, 11, 27, 17, 30), Berlin));
    }

    [Fact]
    public void NextOpening_AcrossDstChange_KeepsLocalTime()
    {
        var w = SendWindow.Parse("""{"days":["mon"],"start":"09:00","end":"10:00"}""")!;
        // Sat 28 Mar 2026 (CET, UTC+1) -> Mon 30 Mar 09:00 CEST (UTC+2) = 07:00 UTC.
        Assert.Equal(Utc(2026, 3, 30, 7), w.NextOpening(Utc(2026, 3, 28, 12), Berlin));
    }

    [Fact]
    public void NextOpening_OvernightWindow_WrapsPastMidnight()
    {
        var w = SendWindow.Parse("""{"start":"22:00","end":"06:00"}""")!;
        Assert.Equal(Utc(2026, 11, 25, 2), w.NextOpening(Utc(2026, 11, 25, 2), TimeZoneInfo.Utc));
        Assert.Equal(Utc(2026, 11, 25, 22), w.NextOpening(Utc(2026, 11, 25, 12), TimeZoneInfo.Utc));
    }

    [Fact]
    public void NextLocalMidnight_InWorkspaceZone()
    {
        Assert.Equal(Utc(2026, 11, 25, 23), SendWindow.NextLocalMidnight(Utc(2026, 11, 25, 10), Berlin));
    }
}
