namespace Herald.Channels;

/// <summary>The channels Herald delivers over. The one place their names are spelled.</summary>
public static class ChannelNames
{
    public const string Email = "email";
    public const string Sms = "sms";
    public const string WhatsApp = "whatsapp";
    public const string Push = "push";
    public const string Webhook = "webhook";

    public static readonly string[] All = [Email, Sms, WhatsApp, Push, Webhook];

    public static bool IsKnown(string? channel) => channel is not null && All.Contains(channel);
}
