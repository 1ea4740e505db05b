using System.Text.Json;
using System.Text.Json.Serialization;
using Herald.Audience;
using Herald.Scheduling;
using Herald.Templates;
using Herald.Tracking;

namespace Herald.Campaigns;

/// <summary>Body of POST /api/v1/campaigns and PATCH /api/v1/campaigns/{id} (PATCH: only the given fields change).</summary>
public sealed class CampaignInput
{
    public string? Name { get; set; }
    /// <summary>One channel (shorthand for <see cref="Channels"/> with one entry).</summary>
    public string? Channel { get; set; }
    public List<string>? Channels { get; set; }
    /// <summary><c>all</c> (default) or <c>fallback</c>.</summary>
    public string? ChannelMode { get; set; }
    public ChannelContent? Content { get; set; }
    [JsonNumberHandling(JsonNumberHandling.AllowReadingFromString)]
    public long? TemplateId { get; set; }
    public AudienceDefinition? Audience { get; set; }
    public ScheduleDefinition? Schedule { get; set; }
    public SendWindowDefinition? SendWindow { get; set; }
    public List<VariantInput>? Variants { get; set; }
    /// <summary>Optional A/B test phase over the variants (see <see cref="AbTestInput"/>).</summary>
    public AbTestInput? AbTest { get; set; }
    /// <summary>Open and click tracking switches (see <see cref="TrackingInput"/>).</summary>
    public TrackingInput? Tracking { get; set; }
    public RateLimitInput? RateLimit { get; set; }
    public bool? TestMode { get; set; }
    public string? EndAt { get; set; }
    [JsonNumberHandling(JsonNumberHandling.AllowReadingFromString)]
    public long? ProductId { get; set; }
    [JsonNumberHandling(JsonNumberHandling.AllowReadingFromString)]
    public long? MediaId { get; set; }
}

/// <summary>An A/B variant: its share of the audience and the content it changes (per channel; the rest falls back to the campaign's).</summary>
public sealed class VariantInput
{
    public string? Name { get; set; }
    public int? Weight { get; set; }
    public ChannelContent? Content { get; set; }
}

public sealed class RateLimitInput
{
    public int? PerSecond { get; set; }
    public int? PerMinute { get; set; }
}

public sealed class RejectInput
{
    public string? Reason { get; set; }
}

public sealed class RescheduleInput
{
    public ScheduleDefinition? Schedule { get; set; }
}

public sealed record RateLimitDto(int? PerSecond, int? PerMinute);

public sealed record CampaignDto(
    string Id, string Name, string Status, string Channel, IReadOnlyList<string> Channels, string ChannelMode,
    JsonElement Content, string? TemplateId, JsonElement Audience, JsonElement Schedule, JsonElement? SendWindow,
    JsonElement? Variants, RateLimitDto? RateLimit, bool TestMode, DateTime? EndAt, string? ProductId, string? MediaId,
    string CreatedBy, string? SubmittedBy, string? ApprovedBy, DateTime? ApprovedAt, string? RejectionReason,
    string? StatusReason, DateTime? NextRunAt, DateTime CreatedAt, DateTime UpdatedAt, AbTestDefinition? AbTest, CampaignTracking Tracking)
{
    public static CampaignDto From(Campaign c) => new(
        c.Id.ToString(), c.Name, c.Status, c.Channels.FirstOrDefault() ?? "", c.Channels, c.ChannelMode,
        Json(c.Content), c.TemplateId?.ToString(), Json(c.Audience), Json(c.Schedule),
        c.SendWindow is null ? null : Json(c.SendWindow), c.Variants is null ? null : Json(c.Variants),
        c.RateLimitPerSecond is null && c.RateLimitPerMinute is null ? null : new RateLimitDto(c.RateLimitPerSecond, c.RateLimitPerMinute),
        c.TestMode, c.EndAt, c.ProductId?.ToString(), c.MediaId?.ToString(), c.CreatedBy, c.SubmittedBy, c.ApprovedBy, c.ApprovedAt,
        c.RejectionReason, c.StatusReason, c.NextRunAt, c.CreatedAt, c.UpdatedAt, AbTestDefinition.Parse(c.AbTest), LinkTracker.Settings(c.Tracking));

    private static JsonElement Json(string s) => JsonDocument.Parse(s).RootElement.Clone();
}

public sealed record CampaignRunDto(
    string Id, string CampaignId, int Occurrence, string Status, string? StatusReason, DateTime ScheduledFor, DateTime? StartedAt,
    DateTime? FinishedAt, bool Misfired, int Total, int Pending, int Sent, int Delivered, int Read, int Failed, int Skipped, int Unknown,
    int Opened, int Clicked, int Converted, int Unsubscribed, int Bounced, int OpensTotal, int ClicksTotal, int MachineOpens, int MachineClicks,
    int Conversions, decimal ConversionValue, AbTestState? AbTest)
{
    public static CampaignRunDto From(CampaignRun r) => new(
        r.Id.ToString(), r.CampaignId.ToString(), r.Occurrence, r.Status, r.StatusReason, r.ScheduledFor, r.StartedAt, r.FinishedAt,
        r.Misfired, r.Total, r.Pending, r.Sent, r.Delivered, r.Read, r.Failed, r.Skipped, r.Unknown, r.Opened, r.Clicked, r.Converted,
        r.Unsubscribed, r.Bounced, r.OpensTotal, r.ClicksTotal, r.MachineOpens, r.MachineClicks, r.Conversions, r.ConversionValue,
        AbTestState.Parse(r.AbDecision));
}

/// <summary>A stored variant (campaign.variants JSON).</summary>
public sealed class Variant
{
    public required string Name { get; set; }
    public int Weight { get; set; }
    public ChannelContent Content { get; set; } = new();
}
