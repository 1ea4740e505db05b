using Herald.Dashboard.Pages.Channels;
using Herald.Dashboard.Pages.Journeys;
using Herald.Dashboard.Shared;

namespace Herald.Tests.Dashboard;

/// <summary>What the dashboard's forms turn typed values into, and back.</summary>
public sealed class DashboardFormsTests
{
    [Fact]
    public void ProviderForms_SmtpWithDkim_WritesNumbersAndNestedObjectsAndReadsThemBack()
    {
        var errors = new Dictionary<string, string[]>();
        var values = new Dictionary<string, string?>
        {
            ["host"] = " smtp.example.com ", ["port"] = "465", ["security"] = "tls", ["password"] = "••••abcd", ["fromEmail"] = "news@example.com",
            ["dkim.domain"] = "example.com", ["dkim.selector"] = "s1", ["username"] = "",
        };

        var settings = ProviderForms.Write("smtp", values, errors);

        Assert.Empty(errors);
        Assert.Equal("smtp.example.com", (string?)settings["host"]);
        Assert.Equal(465, (int?)settings["port"]);
        Assert.Equal("s1", (string?)settings["dkim"]!["selector"]);
        Assert.False(settings.ContainsKey("username"));
        Assert.Equal("••••abcd", (string?)settings["password"]);
        var read = ProviderForms.Read("smtp", settings);
        Assert.Equal("465", read["port"]);
        Assert.Equal("example.com", read["dkim.domain"]);
        Assert.Null(read["fromName"]);
    }

    [Fact]
    public void ProviderForms_PortNotANumberAndHeadersNotAnObject_AreRefusedOnTheirFields()
    {
        var errors = new Dictionary<string, string[]>();

        ProviderForms.Write("smtp", new Dictionary<string, string?> { ["port"] = "five" }, errors);
        ProviderForms.Write("webhook", new Dictionary<string, string?> { ["headers"] = "[1]" }, errors);

        Assert.Contains("settings.port", errors.Keys);
        Assert.Contains("settings.headers", errors.Keys);
    }

    [Theory]
    [InlineData("PT10S", 10, "S", "10 seconds")]
    [InlineData("PT90M", 90, "M", "90 minutes")]
    [InlineData("PT2H", 2, "H", "2 hours")]
    [InlineData("P1D", 1, "D", "1 day")]
    [InlineData("PT48H", 2, "D", "2 days")]
    public void JourneyText_Durations_SplitIntoTheLargestWholeUnitAndBack(string iso, int amount, string unit, string words)
    {
        Assert.Equal((amount, unit), JourneyText.Split(iso));
        Assert.Equal(words, JourneyText.Duration(iso));
        Assert.Equal(JourneyText.Split(iso), JourneyText.Split(JourneyText.Iso(amount, unit)));
    }

    [Fact]
    public void FieldErrors_Summary_NamesOnlyTheErrorsNoFieldShows_InWords()
    {
        var errors = new FieldErrors();
        errors.Set(new Dictionary<string, string[]> { ["name"] = ["Give a name."], ["steps[1].duration"] = ["Give a duration."] });

        var summary = errors.Summary("The journey", key => key == "name");

        Assert.Equal("The journey was not saved. Please correct the highlighted fields. Step 2 › duration: Give a duration.", summary);
        Assert.Equal((2, 17), FieldErrors.Position("Template syntax error at line 2, column 17: Invalid 'if' tag."));
    }
}
