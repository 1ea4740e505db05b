using System.Text.Json;
using System.Text.Json.Nodes;

namespace Herald.Contacts;

/// <summary>
/// A contact as written by a client. On create every field is optional but one address or the
/// externalId; on PATCH an absent or null field is left unchanged and an empty string clears it.
/// <c>name</c> is split into first and last name when those are absent.
/// </summary>
public sealed class ContactInput
{
    public string? ExternalId { get; set; }
    public string? Email { get; set; }
    public string? Phone { get; set; }
    public string? Name { get; set; }
    public string? FirstName { get; set; }
    public string? LastName { get; set; }
    public string? Locale { get; set; }
    public string? Timezone { get; set; }
    public string? City { get; set; }
    public string? Region { get; set; }
    public string? Country { get; set; }
    public string? Lifecycle { get; set; }
    public List<string>? Tags { get; set; }
    public JsonObject? Attributes { get; set; }
    /// <summary>Channel -> <c>subscribed</c> | <c>unsubscribed</c>.</summary>
    public Dictionary<string, string>? Consent { get; set; }
}

public sealed record ConsentDto(string Status, DateTime? At, string? Source);

/// <summary>One entry of a contact's consent history.</summary>
public sealed record ConsentChangeDto(string Channel, string Status, string Source, DateTime At);

public sealed record RfmDto(int Recency, int Frequency, int Monetary, string? Segment);

/// <summary>A contact as read back, with derived metrics.</summary>
public sealed record ContactDto(
    string Id, string? ExternalId, string? Email, string? Phone, string? FirstName, string? LastName,
    string? Locale, string? Timezone, string? City, string? Region, string? Country, string Lifecycle,
    IReadOnlyList<string> Tags, JsonElement Attributes, int TotalOrders, decimal TotalSpent,
    DateTime? FirstOrderAt, DateTime? LastOrderAt, int? LastOrderDays, double EngagementScore, RfmDto Rfm,
    IReadOnlyDictionary<string, ConsentDto> Consent, DateTime CreatedAt, DateTime UpdatedAt)
{
    public static ContactDto From(Contact c, DateTime now)
    {
        var detail = JsonNode.Parse(string.IsNullOrEmpty(c.ConsentDetail) ? "{}" : c.ConsentDetail) as JsonObject ?? [];
        var consent = new Dictionary<string, ConsentDto>();
        foreach (var ch in new[] { Channels.ChannelNames.Email, Channels.ChannelNames.Sms, Channels.ChannelNames.WhatsApp, Channels.ChannelNames.Push })
        {
            var d = detail[ch] as JsonObject;
            consent[ch] = new ConsentDto(c.ConsentFor(ch), d?["at"]?.GetValue<DateTime>(), d?["source"]?.GetValue<string>());
        }
        return new ContactDto(
            c.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), c.ExternalId, c.Email, c.Phone, c.FirstName, c.LastName,
            c.Locale, c.Timezone, c.City, c.Region, c.Country, c.Lifecycle, c.Tags,
            JsonDocument.Parse(string.IsNullOrEmpty(c.Attributes) ? "{}" : c.Attributes).RootElement,
            c.TotalOrders, c.TotalSpent, c.FirstOrderAt, c.LastOrderAt,
            c.LastOrderAt is { } last ? (int)Math.Floor((now - last).TotalDays) : null,
            c.EngagementScore, new RfmDto(c.RfmRecency, c.RfmFrequency, c.RfmMonetary, c.RfmSegment),
            consent, c.CreatedAt, c.UpdatedAt);
    }
}

/// <summary>An event posted for a contact. <c>order</c> events update the contact's order metrics.</summary>
public sealed class EventInput
{
    public string? Type { get; set; }
    public decimal? Value { get; set; }
    public string? Currency { get; set; }
    public DateTimeOffset? OccurredAt { get; set; }
    public JsonObject? Properties { get; set; }
    // Addressing for POST /api/v1/events (ignored on /contacts/{id}/events).
    public string? ExternalId { get; set; }
    public string? Email { get; set; }
    public string? Phone { get; set; }
}

public sealed record EventDto(string Id, string ContactId, string Type, decimal? Value, string? Currency, DateTime OccurredAt, JsonElement? Properties);

public sealed class BulkContactsInput
{
    public List<ContactInput>? Contacts { get; set; }
}

public sealed class BulkEventsInput
{
    public List<EventInput>? Events { get; set; }
}

public sealed record BulkItemResult(int Index, string Status, string? Id, IDictionary<string, string[]>? Errors);

public sealed record BulkResult(int Created, int Updated, int Failed, IReadOnlyList<BulkItemResult> Results);

public static class EventTypes
{
    public const string Order = "order";
}
