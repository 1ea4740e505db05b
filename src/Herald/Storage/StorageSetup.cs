using Herald.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Herald.Storage;

/// <summary>Chooses the database provider from <c>Herald:Database</c> and registers <see cref="HeraldDb"/>.</summary>
public static class StorageSetup
{
    public static IServiceCollection AddHeraldStorage(this IServiceCollection services, HeraldOptions options)
    {
        var db = options.Database;
        if (db.IsPostgres)
        {
            var cs = db.ConnectionString ?? throw new InvalidOperationException("Herald:Database:ConnectionString is required for PostgreSQL.");
            services.AddDbContext<HeraldDb, PostgresHeraldDb>(o => o.UseNpgsql(cs, n => n.EnableRetryOnFailure(0))
                .UseSnakeCaseNamingConvention().ConfigureWarnings(w => w.Ignore(RelationalEventId.PendingModelChangesWarning)));
        }
        else
        {
            var cs = db.ConnectionString ?? $"Data Source={Path.Combine(options.DataDirectory, "herald.db")}";
            var builder = new SqliteConnectionStringBuilder(cs) { Pooling = true, DefaultTimeout = 30 };
            if (Path.GetDirectoryName(Path.GetFullPath(builder.DataSource)) is { } dir) Directory.CreateDirectory(dir);
            services.AddDbContext<HeraldDb, SqliteHeraldDb>(o => o.UseSqlite(builder.ToString())
                .UseSnakeCaseNamingConvention()
                .AddInterceptors(new SqlitePragmas()));
        }
        return services;
    }

    /// <summary>Applies pending migrations; on SQLite also switches the file to WAL (readers never block the writer).</summary>
    public static async Task MigrateAsync(HeraldDb db, CancellationToken ct)
    {
        if (!db.IsPostgres) await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", ct);
        await db.Database.MigrateAsync(ct);
    }

    /// <summary>Per-connection SQLite settings: wait for locks instead of failing, normal sync in WAL.</summary>
    private sealed class SqlitePragmas : DbConnectionInterceptor
    {
        public override void ConnectionOpened(System.Data.Common.DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

        public override Task ConnectionOpenedAsync(System.Data.Common.DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
        {
            Apply(connection);
            return Task.CompletedTask;
        }

        private static void Apply(System.Data.Common.DbConnection connection)
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "PRAGMA busy_timeout=30000; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;";
            cmd.ExecuteNonQuery();
        }
    }
}

/// <summary>Ready when the database answers and has no pending migrations.</summary>
internal sealed class DatabaseReadyCheck(IServiceScopeFactory scopes) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
            if (!await db.Database.CanConnectAsync(ct)) return HealthCheckResult.Unhealthy("The database is not reachable.");
            var pending = (await db.Database.GetPendingMigrationsAsync(ct)).ToList();
            return pending.Count == 0
                ? HealthCheckResult.Healthy($"{(db.IsPostgres ? "PostgreSQL" : "SQLite")} reachable, migrations applied.")
                : HealthCheckResult.Unhealthy($"{pending.Count} migrations pending.");
        }
        catch (Exception e)
        {
            return HealthCheckResult.Unhealthy("The database is not reachable: " + e.GetType().Name);
        }
    }
}
