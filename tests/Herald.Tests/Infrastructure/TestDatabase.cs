using Npgsql;

namespace Herald.Tests.Infrastructure;

/// <summary>
/// A fresh, empty database for one test host. The provider comes from <c>HERALD_TEST_PROVIDER</c>
/// (<c>sqlite</c> by default, or <c>postgres</c> with <c>HERALD_TEST_PG</c> naming a server where the
/// user may create databases; scripts/test.sh starts one). Dropped again on dispose.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    public static string Provider => Environment.GetEnvironmentVariable("HERALD_TEST_PROVIDER") is { Length: > 0 } p ? p : "sqlite";
    public static bool IsPostgres => Provider == "postgres";

    public string ConnectionString { get; }
    private readonly string? _dropName;
    private readonly string? _dir;

    private TestDatabase(string cs, string? dropName, string? dir)
    {
        ConnectionString = cs;
        _dropName = dropName;
        _dir = dir;
    }

    public static async Task<TestDatabase> CreateAsync()
    {
        if (!IsPostgres)
        {
            var dir = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            return new TestDatabase($"Data Source={Path.Combine(dir, "herald.db")}", null, dir);
        }
        var admin = Environment.GetEnvironmentVariable("HERALD_TEST_PG")
            ?? throw new InvalidOperationException("HERALD_TEST_PROVIDER=postgres needs HERALD_TEST_PG (scripts/test.sh sets it).");
        var name = "herald_t_" + Guid.NewGuid().ToString("N")[..16];
        await using (var conn = new NpgsqlConnection(admin))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        var b = new NpgsqlConnectionStringBuilder(admin) { Database = name };
        return new TestDatabase(b.ToString(), name, Path.Combine(Path.GetTempPath(), "herald-tests", name));
    }

    public string DataDirectory => _dir ?? Path.GetTempPath();

    public async ValueTask DisposeAsync()
    {
        if (_dropName is not null)
        {
            NpgsqlConnection.ClearAllPools();
            try
            {
                await using var conn = new NpgsqlConnection(Environment.GetEnvironmentVariable("HERALD_TEST_PG"));
                await conn.OpenAsync();
                await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_dropName} WITH (FORCE)", conn);
                await cmd.ExecuteNonQueryAsync();
            }
            catch (NpgsqlException)
            {
                // The throwaway cluster is deleted after the run anyway.
            }
        }
        if (_dir is not null && Directory.Exists(_dir))
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
        }
    }
}
