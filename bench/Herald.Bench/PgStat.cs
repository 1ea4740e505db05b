using Herald.Storage;
using Microsoft.EntityFrameworkCore;

namespace Herald.Bench;

/// <summary>
/// pg_stat_statements of the benchmark's own database only: the dev cluster is shared, so neither the reset
/// nor the report may touch other databases' statements.
/// </summary>
internal static class PgStat
{
    public const string ResetSql =
        "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0);";

    public static async Task PrintAsync(HeraldDb db, int top)
    {
        var conn = db.Database.GetDbConnection();
        if (conn.State != System.Data.ConnectionState.Open) await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = $"""
            SELECT calls, round(total_exec_time::numeric, 0), round(mean_exec_time::numeric, 2), rows,
                   left(regexp_replace(query, '\s+', ' ', 'g'), 100)
            FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
            ORDER BY total_exec_time DESC LIMIT {top}
            """;
        await using var rd = await cmd.ExecuteReaderAsync();
        Console.WriteLine("pg_stat_statements, this database (calls, total ms, mean ms, rows, query):");
        while (await rd.ReadAsync()) Console.WriteLine($"  {rd.GetValue(0),7} {rd.GetValue(1),8} {rd.GetValue(2),8} {rd.GetValue(3),9}  {rd.GetString(4)}");
    }

    /// <summary>
    /// CPU seconds (user + system) used so far by the PostgreSQL backends connected to this database, read from
    /// /proc (the server runs on this machine). Contention-robust, unlike wall time: with the process's own CPU it
    /// gives the CPU cost per message. Backends that already exited are not counted (the pool keeps them open).
    /// </summary>
    public static async Task<Dictionary<int, double>> BackendCpuAsync(HeraldDb db)
    {
        var conn = db.Database.GetDbConnection();
        if (conn.State != System.Data.ConnectionState.Open) await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()";
        var pids = new List<int>();
        await using (var rd = await cmd.ExecuteReaderAsync())
            while (await rd.ReadAsync()) pids.Add(rd.GetInt32(0));
        var cpu = new Dictionary<int, double>();
        foreach (var pid in pids)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                cpu[pid] = (long.Parse(f[11]) + long.Parse(f[12])) / 100.0; // utime, stime in clock ticks (USER_HZ = 100)
            }
            catch (IOException) { }
        }
        return cpu;
    }

    /// <summary>CPU seconds the backends used between two <see cref="BackendCpuAsync"/> readings.</summary>
    public static double CpuSince(Dictionary<int, double> before, Dictionary<int, double> after) =>
        after.Sum(kv => kv.Value - before.GetValueOrDefault(kv.Key));

    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
