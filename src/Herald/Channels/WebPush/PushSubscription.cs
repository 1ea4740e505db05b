using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Herald.Channels.WebPush;

/// <summary>
/// A browser's push subscription for a contact (the JSON of <c>PushSubscription.toJSON()</c>).
/// A contact may have several (one per browser); the push service's 404/410 removes one.
/// </summary>
public sealed class PushSubscription
{
    public long Id { get; set; }
    public long WorkspaceId { get; set; }
    public long ContactId { get; set; }
    /// <summary>The push service URL of this browser; unique per workspace.</summary>
    public required string Endpoint { get; set; }
    /// <summary>Browser's P-256 public key (base64url).</summary>
    public required string P256dh { get; set; }
    /// <summary>Browser's auth secret (base64url).</summary>
    public required string Auth { get; set; }
    public string? UserAgent { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? LastSuccessAt { get; set; }
}

internal sealed class PushSubscriptionMap : IEntityTypeConfiguration<PushSubscription>
{
    public void Configure(EntityTypeBuilder<PushSubscription> b)
    {
        b.ToTable("push_subscription");
        b.Property(x => x.Endpoint).HasMaxLength(2048);
        b.Property(x => x.P256dh).HasMaxLength(200);
        b.Property(x => x.Auth).HasMaxLength(100);
        b.Property(x => x.UserAgent).HasMaxLength(500);
        b.HasIndex(x => new { x.WorkspaceId, x.Endpoint }).IsUnique();
        b.HasIndex(x => x.ContactId);
        b.HasOne<Herald.Contacts.Contact>().WithMany().HasForeignKey(x => x.ContactId).OnDelete(DeleteBehavior.Cascade);
    }
}
