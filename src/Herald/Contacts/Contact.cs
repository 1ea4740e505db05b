using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Herald.Contacts;

/// <summary>A person Herald can message. Erased contacts stay as anonymous tombstones (<see cref="DeletedAt"/>) so stats still add up.</summary>
public sealed class Contact
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    public string? ExternalId { get; set; }
    /// <summary>Lower-cased, trimmed.</summary>
    public string? Email { get; set; }
    /// <summary>E.164.</summary>
    public string? Phone { get; set; }
    public string? FirstName { get; set; }
    public string? LastName { get; set; }
    public string? Locale { get; set; }
    public string? Timezone { get; set; }
    public string? City { get; set; }
    public string? Region { get; set; }
    public string? Country { get; set; }
    /// <summary><c>lead</c> or <c>customer</c> (set at the first order).</summary>
    public string Lifecycle { get; set; } = Lifecycles.Lead;
    public List<string> Tags { get; set; } = [];
    /// <summary>JSON object of custom attributes.</summary>
    public string Attributes { get; set; } = "{}";

    public string EmailConsent { get; set; } = ConsentStatus.Subscribed;
    public string SmsConsent { get; set; } = ConsentStatus.Subscribed;
    public string WhatsappConsent { get; set; } = ConsentStatus.Subscribed;
    public string PushConsent { get; set; } = ConsentStatus.Subscribed;
    /// <summary>JSON object channel -> {at, source} of the latest consent change.</summary>
    public string ConsentDetail { get; set; } = "{}";

    public int TotalOrders { get; set; }
    public decimal TotalSpent { get; set; }
    public DateTime? FirstOrderAt { get; set; }
    public DateTime? LastOrderAt { get; set; }
    public double EngagementScore { get; set; }
    public int RfmRecency { get; set; }
    public int RfmFrequency { get; set; }
    public int RfmMonetary { get; set; }
    public string? RfmSegment { get; set; }

    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public DateTime? DeletedAt { get; set; }

    public string ConsentFor(string channel) => channel switch
    {
        Channels.ChannelNames.Email => EmailConsent,
        Channels.ChannelNames.Sms => SmsConsent,
        Channels.ChannelNames.WhatsApp => WhatsappConsent,
        Channels.ChannelNames.Push => PushConsent,
        _ => ConsentStatus.Subscribed,
    };

    public void SetConsent(string channel, string status)
    {
        switch (channel)
        {
            case Channels.ChannelNames.Email: EmailConsent = status; break;
            case Channels.ChannelNames.Sms: SmsConsent = status; break;
            case Channels.ChannelNames.WhatsApp: WhatsappConsent = status; break;
            case Channels.ChannelNames.Push: PushConsent = status; break;
        }
    }
}

public static class Lifecycles
{
    public const string Lead = "lead";
    public const string Customer = "customer";
    public static readonly string[] All = [Lead, Customer];
}

public static class ConsentStatus
{
    public const string Subscribed = "subscribed";
    public const string Unsubscribed = "unsubscribed";
    public static readonly string[] All = [Subscribed, Unsubscribed];
}

/// <summary>An order or custom event of a contact. Orders feed the contact's metrics.</summary>
public sealed class ContactEvent
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    public long ContactId { get; set; }
    public required string Type { get; set; }
    public decimal? Value { get; set; }
    public string? Currency { get; set; }
    public DateTime OccurredAt { get; set; }
    public string? Properties { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>History of consent: every subscribe/unsubscribe with its source.</summary>
public sealed class ConsentChange
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    public long ContactId { get; set; }
    public required string Channel { get; set; }
    public required string Status { get; set; }
    public required string Source { get; set; }
    public DateTime At { get; set; }
}

internal sealed class ContactMap : IEntityTypeConfiguration<Contact>
{
    public void Configure(EntityTypeBuilder<Contact> b)
    {
        b.ToTable("contact");
        b.Property(x => x.ExternalId).HasMaxLength(200);
        b.Property(x => x.Email).HasMaxLength(320);
        b.Property(x => x.Phone).HasMaxLength(20);
        b.Property(x => x.FirstName).HasMaxLength(200);
        b.Property(x => x.LastName).HasMaxLength(200);
        b.Property(x => x.Locale).HasMaxLength(35);
        b.Property(x => x.Timezone).HasMaxLength(64);
        b.Property(x => x.City).HasMaxLength(200);
        b.Property(x => x.Region).HasMaxLength(200);
        b.Property(x => x.Country).HasMaxLength(100);
        b.Property(x => x.Lifecycle).HasMaxLength(16);
        b.Property(x => x.EmailConsent).HasMaxLength(16);
        b.Property(x => x.SmsConsent).HasMaxLength(16);
        b.Property(x => x.WhatsappConsent).HasMaxLength(16);
        b.Property(x => x.PushConsent).HasMaxLength(16);
        b.Property(x => x.RfmSegment).HasMaxLength(32);
        b.Property(x => x.TotalSpent).HasPrecision(18, 2);
        b.Property(x => x.Attributes).IsJson();
        b.Property(x => x.ConsentDetail).IsJson();
        b.HasIndex(x => new { x.WorkspaceId, x.Email }).IsUnique().HasFilter("email IS NOT NULL");
        b.HasIndex(x => new { x.WorkspaceId, x.Phone }).IsUnique().HasFilter("phone IS NOT NULL");
        b.HasIndex(x => new { x.WorkspaceId, x.ExternalId }).IsUnique().HasFilter("external_id IS NOT NULL");
        b.HasIndex(x => new { x.WorkspaceId, x.TotalSpent });
        b.HasIndex(x => new { x.WorkspaceId, x.LastOrderAt });
        b.HasIndex(x => new { x.WorkspaceId, x.City });
        b.HasIndex(x => new { x.WorkspaceId, x.CreatedAt });
        b.HasOne<Herald.Workspaces.Workspace>().WithMany().HasForeignKey(x => x.WorkspaceId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ContactEventMap : IEntityTypeConfiguration<ContactEvent>
{
    public void Configure(EntityTypeBuilder<ContactEvent> b)
    {
        b.ToTable("contact_event");
        b.Property(x => x.Type).HasMaxLength(64);
        b.Property(x => x.Currency).HasMaxLength(3);
        b.Property(x => x.Value).HasPrecision(18, 2);
        b.Property(x => x.Properties).IsJson();
        b.HasIndex(x => new { x.ContactId, x.OccurredAt });
        b.HasIndex(x => new { x.WorkspaceId, x.Type, x.OccurredAt });
        b.HasOne<Contact>().WithMany().HasForeignKey(x => x.ContactId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ConsentChangeMap : IEntityTypeConfiguration<ConsentChange>
{
    public void Configure(EntityTypeBuilder<ConsentChange> b)
    {
        b.ToTable("consent_change");
        b.Property(x => x.Channel).HasMaxLength(16);
        b.Property(x => x.Status).HasMaxLength(16);
        b.Property(x => x.Source).HasMaxLength(64);
        b.HasIndex(x => new { x.ContactId, x.At });
        b.HasOne<Contact>().WithMany().HasForeignKey(x => x.ContactId).OnDelete(DeleteBehavior.Cascade);
    }
}
