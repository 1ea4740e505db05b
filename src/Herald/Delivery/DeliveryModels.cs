using System.Text.Json;

namespace Herald.Delivery;

/// <summary>One variant's counters (summed over the runs asked for); rates over its sent messages.</summary>
public sealed record VariantStats(string Name, int Total, int Sent, int Failed, int Skipped, int Opened, int Clicked,
    int Delivered = 0, int Converted = 0, int Unsubscribed = 0, int Bounced = 0, decimal ConversionValue = 0,
    double OpenRate = 0, double ClickRate = 0, double ConversionRate = 0);

/// <summary>One UTC minute: messages settled (sent, delivered by receipt, failed) and first human opens and clicks in it.</summary>
public sealed record TimelinePoint(DateTime At, int Sent, int Delivered, int Failed, int Opened = 0, int Clicked = 0, int Converted = 0, int Unsubscribed = 0);

/// <summary>A tracked link of the campaign: every click and the deliveries with a human click on it.</summary>
public sealed record LinkStats(string Id, string Url, int Clicks, int UniqueClicks);

/// <summary>One run of the campaign (recurring campaigns have many), with its A/B test when it had one.</summary>
public sealed record RunStatsDto(string Id, int Occurrence, string Status, DateTime ScheduledFor, DateTime? StartedAt, DateTime? FinishedAt, double? DurationSeconds,
    int TotalRecipients, int Pending, int Sent, int Delivered, int Failed, int Skipped, int Opened, int Clicked, int Converted, int Unsubscribed, int Bounced,
    double OpenRate, double ClickRate, Tracking.AbTestState? AbTest);

/// <summary>
/// GET /api/v1/campaigns/{id}/stats (API.md, Stats). Counters come from run rows, summed over runs (or one run); rates
/// are over sent messages (bounceRate over sent + failed); opened, clicked, converted and unsubscribed count deliveries
/// (people only), the *Total and machine* fields every event. Variants, timeline and links read pre-aggregated rows.
/// While a run is sending the figures may be up to <c>Herald:Tracking:StatsSnapshotMaxAge</c> (1 s) old (<c>Tracking.CampaignStatsSnapshots</c>).
/// </summary>
public sealed record CampaignStatsDto(
    string CampaignId, string? RunId, string Status, string? StatusReason, int TotalRecipients, int Pending, int Sent, int Delivered, int Read,
    int Failed, int Skipped, int Unknown, int Opened, int Clicked, int Converted, int Unsubscribed, int Bounced,
    double DeliveryRate, double OpenRate, double ClickRate, double ConversionRate,
    DateTime? StartedAt, DateTime? CompletedAt, double? DurationSeconds, DateTime? NextRunAt,
    IReadOnlyList<VariantStats> Variants, IReadOnlyList<TimelinePoint> Timeline,
    double UnsubscribeRate = 0, double BounceRate = 0, int OpensTotal = 0, int ClicksTotal = 0, int MachineOpens = 0, int MachineClicks = 0,
    int Conversions = 0, decimal ConversionValue = 0, IReadOnlyList<LinkStats>? Links = null, IReadOnlyList<RunStatsDto>? Runs = null,
    Tracking.AbTestState? AbTest = null);

/// <summary>One row of GET /api/v1/analytics.</summary>
public sealed record CampaignSummaryDto(string CampaignId, string Name, string Status, IReadOnlyList<string> Channels, int Runs,
    int TotalRecipients, int Pending, int Sent, int Delivered, int Failed, int Skipped, int Unknown, int Opened, int Clicked, int Converted,
    double DeliveryRate, double OpenRate, double ClickRate, double ConversionRate, DateTime? LastRunAt,
    int Unsubscribed = 0, int Bounced = 0, double UnsubscribeRate = 0, double BounceRate = 0, int Conversions = 0, decimal ConversionValue = 0);

public sealed record DeliveryDto(string Id, string? RunId, string ContactId, string Channel, string Address, string? Variant, string Status,
    string? Reason, int Attempts, DateTime NextAttemptAt, string? ErrorCode, string? ErrorText, string? ProviderMessageId,
    DateTime? SentAt, DateTime? FinishedAt, DateTime CreatedAt)
{
    public static DeliveryDto From(DeliveryRow d) => new(d.Id.ToString(), d.RunId?.ToString(), d.ContactId.ToString(), d.Channel, d.Address,
        d.Variant, d.Status, d.Reason, d.Attempts, d.NextAttemptAt, d.ErrorCode, d.ErrorText, d.ProviderMessageId, d.SentAt, d.FinishedAt, d.CreatedAt);
}

public sealed record OutboxDto(string Id, string DeliveryId, string? CampaignId, string Channel, string Address, string? Subject, string? Body,
    string? Html, bool Test, DateTime CreatedAt);

/// <summary>POST /api/v1/campaigns/{id}/test-send: contacts by id and/or raw addresses (email or E.164 phone); at most 20.</summary>
public sealed class TestSendInput
{
    public List<JsonElement>? ContactIds { get; set; }
    public List<string>? Addresses { get; set; }
    /// <summary>Which of the campaign's channels to test; default its first.</summary>
    public string? Channel { get; set; }
}

public sealed record TestSendResult(string Address, string? ContactId, string Status, string? ErrorCode, string? ErrorText);

public sealed record RetryFailedResult(int Requeued);
