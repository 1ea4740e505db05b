namespace Herald.Tests.Campaigns;

/// <summary>Request bodies for campaign tests.</summary>
public static class CampaignBodies
{
    public static object Sms(string name = "Spring sale", object? schedule = null, object? audience = null) => new
    {
        name,
        channel = "sms",
        content = new { sms = new { body = "Hi {{ contact.firstName | default: \"there\" }}, 20% off today" } },
        audience = audience ?? new { all = true },
        schedule = schedule ?? new { type = "now" },
    };

    public static object Once(DateTime atUtc) => new { type = "once", at = atUtc.ToString("yyyy-MM-ddTHH:mm:ss") + "Z", timezone = "UTC" };
}
