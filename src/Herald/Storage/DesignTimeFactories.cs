using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Herald.Storage;

// Used only by `dotnet ef migrations add` (scripts/migrations.sh); the app configures contexts in StorageSetup.
internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteHeraldDb>
{
    public SqliteHeraldDb CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteHeraldDb>().UseSqlite("Data Source=design.db").UseSnakeCaseNamingConvention().Options);
}

internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresHeraldDb>
{
    public PostgresHeraldDb CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresHeraldDb>().UseNpgsql("Host=localhost;Database=design").UseSnakeCaseNamingConvention().Options);
}
