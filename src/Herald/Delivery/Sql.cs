using System.Data.Common;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Herald.Delivery;

/// <summary>Small ADO.NET helpers for the raw SQL of the hot path (EF would track and materialize per row).</summary>
internal static class Sql
{
    public static async Task<DbCommand> CommandAsync(HeraldDb db, string sql, CancellationToken ct, params (string Name, object? Value)[] ps)
    {
        await db.Database.OpenConnectionAsync(ct);
        var cmd = db.Database.GetDbConnection().CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        cmd.CommandTimeout = 600;
        foreach (var (name, value) in ps) Add(cmd, name, value);
        return cmd;
    }

    public static void Add(DbCommand cmd, string name, object? value)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        p.Value = value ?? DBNull.Value;
        cmd.Parameters.Add(p);
    }

    public static async Task<int> ExecAsync(HeraldDb db, string sql, CancellationToken ct, params (string, object?)[] ps)
    {
        await using var cmd = await CommandAsync(db, sql, ct, ps);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    public static async Task<List<T>> QueryAsync<T>(HeraldDb db, string sql, Func<DbDataReader, T> read, CancellationToken ct, params (string, object?)[] ps)
    {
        await using var cmd = await CommandAsync(db, sql, ct, ps);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<T>();
        while (await r.ReadAsync(ct)) list.Add(read(r));
        return list;
    }

    public static long? NullableLong(this DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetInt64(i);
    public static string? NullableString(this DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    /// <summary>A UTC time as a parameter value of this provider: itself on PostgreSQL, <see cref="SqliteTime"/> on SQLite.</summary>
    public static object Time(HeraldDb db, DateTime utc) => db.IsPostgres ? utc : SqliteTime(utc);

    /// <summary>The text form EF Core's SQLite provider stores DateTime in (so raw SQL compares correctly).</summary>
    public static string SqliteTime(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", System.Globalization.CultureInfo.InvariantCulture);

    public static string Least(HeraldDb db) => db.IsPostgres ? "LEAST" : "MIN";
    public static string Greatest(HeraldDb db) => db.IsPostgres ? "GREATEST" : "MAX";
}
