using System.Text.Json;

namespace Herald.Delivery;

public sealed record VariantStats(string Name, int Total, int Sent, int Failed, int Skipped, int Opened, int Clicked);

public sealed record TimelinePoint(DateTime At, int Sent, int Delivered, int Failed);

/// <summary>GET /api/v1/campaigns/{id}/stats (API.md, Stats). Counters come from run rows, summed over runs (or one run).</summary>
public sealed record CampaignStatsDto(
    string CampaignId, string? RunId, string Status, string? StatusReason, int TotalRecipients, int Pending, int Sent, int Delivered, int Read,
    int Failed, int Skipped, int Unknown, int Opened, int Clicked, int Converted, int Unsubscribed, int Bounced,
    double DeliveryRate, double OpenRate, double ClickRate, double ConversionRate,
    DateTime? StartedAt, DateTime? CompletedAt, double? DurationSeconds, DateTime? NextRunAt,
    IReadOnlyList<VariantStats> Variants, IReadOnlyList<TimelinePoint> Timeline);

/// <summary>One row of GET /api/v1/analytics.</summary>
public sealed record CampaignSummaryDto(string CampaignId, string Name, string Status, IReadOnlyList<string> Channels, int Runs,
    int TotalRecipients, int Pending, int Sent, int Delivered, int Failed, int Skipped, int Unknown, int Opened, int Clicked, int Converted,
    double DeliveryRate, double OpenRate, double ClickRate, double ConversionRate, DateTime? LastRunAt);

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
