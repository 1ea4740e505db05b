using Herald.Channels;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;

namespace Herald.Delivery;

/// <summary>Marks providers that want the whole claimed batch in one call (the sandbox writes it with one statement).</summary>
public interface IWholeBatchProvider;

/// <summary>
/// The built-in default provider of every channel: records the rendered message in the outbox table,
/// sends nothing. It is also the benchmark provider, so a batch costs one INSERT.
/// </summary>
public sealed class SandboxProvider(IServiceScopeFactory scopes, TimeProvider clock) : IChannelProvider, IWholeBatchProvider
{
    public const string Name = "sandbox";

    string IChannelProvider.Name => Name;

    public async Task<IReadOnlyList<SendResult>> SendBatchAsync(IReadOnlyList<OutgoingMessage> batch, CancellationToken ct)
    {
        if (batch.Count == 0) return [];
        var now = clock.GetUtcNow().UtcDateTime;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
        if (db.IsPostgres) await InsertPostgresAsync(db, batch, now, ct);
        else await InsertSqliteAsync(db, batch, now, ct);
        var results = new SendResult[batch.Count];
        for (var i = 0; i < batch.Count; i++) results[i] = SendResult.Ok(batch[i].DeliveryId);
        return results;
    }

    private static string? Body(RenderedMessage m) => m.Body ?? m.Text;

    // OutboxInsertBatch (PostgreSQL): binary COPY, one per batch. It skips what an INSERT ... SELECT FROM
    // unnest(arrays) pays per batch (parse, plan, array decoding, an executor node per column) and is the cheapest
    // way into a table PostgreSQL has: 12.6 ms per 500 rows as unnest under load (pg_stat_statements).
    private static async Task InsertPostgresAsync(HeraldDb db, IReadOnlyList<OutgoingMessage> batch, DateTime now, CancellationToken ct)
    {
        await db.Database.OpenConnectionAsync(ct);
        var conn = (Npgsql.NpgsqlConnection)db.Database.GetDbConnection();
        await using var w = await conn.BeginBinaryImportAsync(
            "COPY outbox_message (workspace_id, delivery_id, campaign_id, channel, address, subject, body, html, test, created_at) FROM STDIN (FORMAT BINARY)", ct);
        foreach (var m in batch)
        {
            await w.StartRowAsync(ct);
            await w.WriteAsync(m.WorkspaceId, NpgsqlTypes.NpgsqlDbType.Bigint, ct);
            await w.WriteAsync(m.DeliveryId, NpgsqlTypes.NpgsqlDbType.Bigint, ct);
            if (m.CampaignId is { } campaignId) await w.WriteAsync(campaignId, NpgsqlTypes.NpgsqlDbType.Bigint, ct); else await w.WriteNullAsync(ct);
            await w.WriteAsync(m.Channel, NpgsqlTypes.NpgsqlDbType.Text, ct);
            await w.WriteAsync(m.Address, NpgsqlTypes.NpgsqlDbType.Text, ct);
            await WriteTextAsync(w, m.Content.Subject ?? m.Content.Title, ct);
            await WriteTextAsync(w, Body(m.Content), ct);
            await WriteTextAsync(w, m.Content.Html, ct);
            await w.WriteAsync(m.Test, NpgsqlTypes.NpgsqlDbType.Boolean, ct);
            await w.WriteAsync(now, NpgsqlTypes.NpgsqlDbType.TimestampTz, ct);
        }
        await w.CompleteAsync(ct);
    }

    private static Task WriteTextAsync(Npgsql.NpgsqlBinaryImporter w, string? value, CancellationToken ct) =>
        value is null ? w.WriteNullAsync(ct) : w.WriteAsync(value, NpgsqlTypes.NpgsqlDbType.Text, ct);

    // OutboxInsertBatch (SQLite): one transaction with one prepared statement re-bound per row: SQLite is
    // in-process, so a re-bound prepared INSERT costs about what a multi-row VALUES list costs, without a SQL size limit.
    private static async Task InsertSqliteAsync(HeraldDb db, IReadOnlyList<OutgoingMessage> batch, DateTime now, CancellationToken ct)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await using var cmd = await Sql.CommandAsync(db, """
            INSERT INTO outbox_message (workspace_id, delivery_id, campaign_id, channel, address, subject, body, html, test, created_at)
            VALUES (@ws, @did, @cid, @ch, @addr, @subj, @body, @html, @test, @now)
            """, ct, ("ws", 0L), ("did", 0L), ("cid", null), ("ch", ""), ("addr", ""), ("subj", null), ("body", null), ("html", null), ("test", false), ("now", Sql.SqliteTime(now)));
        var p = cmd.Parameters;
        foreach (var m in batch)
        {
            p[0].Value = m.WorkspaceId; p[1].Value = m.DeliveryId; p[2].Value = (object?)m.CampaignId ?? DBNull.Value;
            p[3].Value = m.Channel; p[4].Value = m.Address; p[5].Value = (object?)(m.Content.Subject ?? m.Content.Title) ?? DBNull.Value;
            p[6].Value = (object?)Body(m.Content) ?? DBNull.Value; p[7].Value = (object?)m.Content.Html ?? DBNull.Value; p[8].Value = m.Test;
            await cmd.ExecuteNonQueryAsync(ct);
        }
        await tx.CommitAsync(ct);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Builds the sandbox provider (no settings).</summary>
public sealed class SandboxProviderFactory(IServiceScopeFactory scopes, TimeProvider clock) : IChannelProviderFactory
{
    public IReadOnlyCollection<string> Providers { get; } = [SandboxProvider.Name];

    public IChannelProvider Create(string provider, string channel, string settingsJson) => new SandboxProvider(scopes, clock);
}
