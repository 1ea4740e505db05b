using Herald.Contacts;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Herald.Audience;

/// <summary>Wires the audience feature: filter compiler, segments, lists, preview, imports, customer metrics.</summary>
public static class AudienceSetup
{
    public static IServiceCollection AddAudience(this IServiceCollection services)
    {
        services.AddScoped<IAudienceQuery, AudienceQuery>();
        services.AddScoped<AudienceRecipients>();
        services.AddScoped<AudienceService>();
        services.AddScoped<SegmentService>();
        services.AddScoped<ImportUploads>();
        services.AddScoped<ContactsApi.IContactScope>(sp => sp.GetRequiredService<AudienceService>());
        services.AddOptions<ImportOptions>().BindConfiguration(ImportOptions.Section);
        services.AddScoped<ImportService>();
        services.AddSingleton<ImportQueue>();
        services.AddHostedService<ImportRunner>();
        services.AddOptions<CustomerMetricsOptions>().BindConfiguration(CustomerMetricsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddScoped<CustomerMetrics>();
        services.AddScoped<IContactObserver, CustomerMetricsObserver>();
        services.AddSingleton<CustomerMetricsJob>();
        services.AddHostedService(sp => sp.GetRequiredService<CustomerMetricsJob>());
        return services;
    }
}

/// <summary>Indexes on contact that the common filters use (added beside, not inside, ContactMap).</summary>
internal sealed class ContactAudienceIndexes : IEntityTypeConfiguration<Contact>
{
    public void Configure(EntityTypeBuilder<Contact> b)
    {
        b.HasIndex(x => new { x.WorkspaceId, x.Country }).HasDatabaseName("ix_contact_workspace_id_country");
        b.HasIndex(x => new { x.WorkspaceId, x.RfmSegment }).HasDatabaseName("ix_contact_workspace_id_rfm_segment");
        b.HasIndex(x => new { x.WorkspaceId, x.EngagementScore }).HasDatabaseName("ix_contact_workspace_id_engagement_score");
        // PostgreSQL only: tags && / @> and attributes @> are answered from GIN indexes.
        b.HasIndex(x => x.Tags).HasDatabaseName("ix_contact_tags_gin").HasMethod("gin").HasAnnotation(JsonColumn.PostgresOnlyIndex, true);
        b.HasIndex(x => x.Attributes).HasDatabaseName("ix_contact_attributes_gin").HasMethod("gin")
            .HasOperators("jsonb_path_ops").HasAnnotation(JsonColumn.PostgresOnlyIndex, true);
    }
}
