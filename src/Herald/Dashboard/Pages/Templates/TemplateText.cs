using Herald.Channels;
using MudBlazor;

namespace Herald.Dashboard.Pages.Templates;

/// <summary>How the dashboard names and draws the channels.</summary>
public static class ChannelText
{
    public static string Title(string channel) => channel switch
    {
        ChannelNames.Email => "Email",
        ChannelNames.Sms => "SMS",
        ChannelNames.WhatsApp => "WhatsApp",
        ChannelNames.Push => "Web push",
        ChannelNames.Webhook => "Webhook",
        _ => channel,
    };

    public static string Icon(string channel) => channel switch
    {
        ChannelNames.Email => Icons.Material.Filled.Email,
        ChannelNames.Sms => Icons.Material.Filled.Sms,
        ChannelNames.WhatsApp => Icons.Material.Filled.Chat,
        ChannelNames.Push => Icons.Material.Filled.NotificationsActive,
        ChannelNames.Webhook => Icons.Material.Filled.Webhook,
        _ => Icons.Material.Filled.Message,
    };
}
