using Herald.Audit;
using Herald.Auth;
using Herald.Contacts;
using Herald.Workspaces;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Herald.Storage;

/// <summary>
/// Herald's one EF Core model. Two subclasses pick the provider (<see cref="SqliteHeraldDb"/>,
/// <see cref="PostgresHeraldDb"/>) so each keeps its own migrations. Entity mappings live beside
/// their feature as <see cref="IEntityTypeConfiguration{TEntity}"/> classes and are picked up by
/// assembly scan, so a new feature adds tables without touching this file.
/// </summary>
public abstract class HeraldDb : DbContext, IDataProtectionKeyContext
{
    protected HeraldDb(DbContextOptions options) : base(options) { }

    /// <summary>True when this context talks to PostgreSQL (raw SQL and column types differ).</summary>
    public abstract bool IsPostgres { get; }

    public DbSet<Workspace> Workspaces => Set<Workspace>();
    public DbSet<User> Users => Set<User>();
    public DbSet<Membership> Memberships => Set<Membership>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<AuditEntry> AuditLog => Set<AuditEntry>();
    public DbSet<Contact> Contacts => Set<Contact>();
    public DbSet<ContactEvent> ContactEvents => Set<ContactEvent>();
    public DbSet<ConsentChange> ConsentChanges => Set<ConsentChange>();
    public DbSet<DataProtectionKey> DataProtectionKeys { get; set; } = null!;

    /// <summary>Column type for JSON documents: jsonb on PostgreSQL, TEXT on SQLite.</summary>
    public string JsonColumnType => IsPostgres ? "jsonb" : "TEXT";

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(HeraldDb).Assembly, t => !t.IsAbstract);
        modelBuilder.Entity<DataProtectionKey>().ToTable("data_protection_key");
        if (IsPostgres)
        {
            foreach (var entity in modelBuilder.Model.GetEntityTypes())
                foreach (var property in entity.GetProperties().Where(p => p.FindAnnotation(JsonColumn.Annotation) is not null))
                    property.SetColumnType("jsonb");
        }
        else
        {
            // GIN and other PostgreSQL-only indexes would be plain, useless b-trees on SQLite.
            foreach (var entity in modelBuilder.Model.GetEntityTypes())
                foreach (var index in entity.GetIndexes().Where(i => i.FindAnnotation(JsonColumn.PostgresOnlyIndex) is not null).ToList())
                    entity.RemoveIndex(index);
        }
    }
}

/// <summary>Marks a string property as a JSON document (jsonb on PostgreSQL).</summary>
public static class JsonColumn
{
    public const string Annotation = "Herald:Json";

    /// <summary>Marks an index that only PostgreSQL gets (GIN over arrays and jsonb).</summary>
    public const string PostgresOnlyIndex = "Herald:PostgresOnly";

    public static Microsoft.EntityFrameworkCore.Metadata.Builders.PropertyBuilder<T> IsJson<T>(
        this Microsoft.EntityFrameworkCore.Metadata.Builders.PropertyBuilder<T> builder) =>
        builder.HasAnnotation(Annotation, true);

}

public sealed class SqliteHeraldDb(DbContextOptions<SqliteHeraldDb> options) : HeraldDb(options)
{
    public override bool IsPostgres => false;

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite keeps DateTime as text without a kind; every Herald time is UTC.
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
        configurationBuilder.Properties<DateTime?>().HaveConversion<NullableUtcDateTimeConverter>();
        // SQLite has no decimal type; store money as REAL-free TEXT would break ordering, so use double-free numeric.
        configurationBuilder.Properties<decimal>().HaveConversion<double>();
        configurationBuilder.Properties<decimal?>().HaveConversion<double?>();
    }

    private sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(
        v => v.Kind == DateTimeKind.Utc ? v : v.ToUniversalTime(),
        v => DateTime.SpecifyKind(v, DateTimeKind.Utc));

    private sealed class NullableUtcDateTimeConverter() : ValueConverter<DateTime?, DateTime?>(
        v => v.HasValue ? (v.Value.Kind == DateTimeKind.Utc ? v : v.Value.ToUniversalTime()) : v,
        v => v.HasValue ? DateTime.SpecifyKind(v.Value, DateTimeKind.Utc) : v);
}

public sealed class PostgresHeraldDb(DbContextOptions<PostgresHeraldDb> options) : HeraldDb(options)
{
    public override bool IsPostgres => true;
}
