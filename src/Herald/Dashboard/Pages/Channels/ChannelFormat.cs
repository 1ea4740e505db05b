using Herald.Channels;

namespace Herald.Dashboard.Pages.Channels;

/// <summary>Channel settings in words.</summary>
public static class ChannelFormat
{
    public static string Rate(RateLimitDto r) => (r.PerSecond, r.PerMinute) switch
    {
        (null, null) => "no limit",
        ({ } s, null) => $"{s}/s",
        (null, { } m) => $"{m}/min",
        ({ } s, { } m) => $"{s}/s, {m}/min",
    };

    public static string Crash(string policy) => policy == CrashPolicies.AtMostOnce ? "mark unknown, never resend" : "resend";
}
