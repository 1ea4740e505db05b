namespace Herald.Tests.Infrastructure;

/// <summary>
/// A test that only means something on PostgreSQL (several processes or connections racing, LISTEN/NOTIFY, the
/// cluster harness). On SQLite it is reported as skipped, with the reason, rather than passing without running.
/// With <see cref="NeedsServerControl"/> it also needs <c>HERALD_TEST_PG_CTL</c>, a command that may stop and
/// start the test server (scripts/test.sh writes one for its throwaway cluster; never point it at a shared server).
/// </summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute(bool NeedsServerControl = false)
    {
        if (!TestDatabase.IsPostgres) Skip = "PostgreSQL only (HERALD_TEST_PROVIDER=postgres)";
        else if (NeedsServerControl && Environment.GetEnvironmentVariable("HERALD_TEST_PG_CTL") is not { Length: > 0 })
            Skip = "needs HERALD_TEST_PG_CTL: a server this test may stop and start";
    }
}
