using System.Data.Common;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Herald.Journeys;

/// <summary>
/// Raw ADO commands on the context's connection and current transaction, for the engine's hot
/// statements (claims, compare-and-set advances, set-based enrollment) that EF cannot express.
/// </summary>
internal static class JourneySql
{
    public static async Task<DbCommand> CommandAsync(HeraldDb db, string sql, IEnumerable<KeyValuePair<string, object?>> parameters, CancellationToken ct)
    {
        await db.Database.OpenConnectionAsync(ct);
        var cmd = db.Database.GetDbConnection().CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        foreach (var (name, value) in parameters)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name.StartsWith('@') ? name : "@" + name;
            p.Value = value ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }

    public static async Task<int> ExecuteAsync(HeraldDb db, string sql, CancellationToken ct, params (string, object?)[] ps)
    {
        await using var cmd = await CommandAsync(db, sql, ps.Select(p => KeyValuePair.Create(p.Item1, p.Item2)), ct);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    public static async Task<List<T>> QueryAsync<T>(HeraldDb db, string sql, Func<DbDataReader, T> map, CancellationToken ct, params (string, object?)[] ps) =>
        await QueryAsync(db, sql, ps.Select(p => KeyValuePair.Create(p.Item1, p.Item2)), map, ct);

    public static async Task<List<T>> QueryAsync<T>(HeraldDb db, string sql, IEnumerable<KeyValuePair<string, object?>> ps, Func<DbDataReader, T> map, CancellationToken ct)
    {
        await using var cmd = await CommandAsync(db, sql, ps, ct);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<T>();
        while (await r.ReadAsync(ct)) list.Add(map(r));
        return list;
    }

    /// <summary>Reads a UTC timestamp (SQLite hands back text without a kind).</summary>
    public static DateTime Utc(this DbDataReader r, int i) => DateTime.SpecifyKind(r.GetDateTime(i), DateTimeKind.Utc);

    public static DateTime? UtcOrNull(this DbDataReader r, int i) => r.IsDBNull(i) ? null : r.Utc(i);

    /// <summary>An id list parameter: a bigint[] for <c>= ANY(@p)</c> on PostgreSQL, JSON for <c>json_each(@p)</c> on SQLite.</summary>
    public static object IdList(HeraldDb db, IReadOnlyCollection<long> ids) =>
        db.IsPostgres ? ids.ToArray() : System.Text.Json.JsonSerializer.Serialize(ids);

    /// <summary>SQL test that <paramref name="column"/> is in the id list parameter <paramref name="param"/>.</summary>
    public static string InIds(HeraldDb db, string column, string param) =>
        db.IsPostgres ? $"{column} = ANY(@{param})" : $"{column} IN (SELECT value FROM json_each(@{param}))";
}
