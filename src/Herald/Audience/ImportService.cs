using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Herald.Contacts;
using Herald.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Herald.Audience;

/// <summary>Import limits. Defaults suit a 1M-row CSV.</summary>
public sealed class ImportOptions
{
    public const string Section = "Herald:Imports";
    /// <summary>Largest upload accepted, in bytes (larger answers 413). Default: 512 MiB.</summary>
    public long MaxFileBytes { get; set; } = 512L * 1024 * 1024;
    /// <summary>Rows staged and upserted per transaction on PostgreSQL. Default: 100,000.</summary>
    public int PostgresChunkRows { get; set; } = 100_000;
    /// <summary>Rows per transaction on SQLite. Default: 50,000.</summary>
    public int SqliteChunkRows { get; set; } = 50_000;
    /// <summary>Created ids handed to <see cref="IContactObserver.ContactsCreatedAsync"/> per call. Default: 10,000.</summary>
    public int ObserverChunk { get; set; } = 10_000;
}

/// <summary>A row ready for staging: normalized fields; tags and attributes as JSON.</summary>
internal sealed class StagedRow
{
    public long Line;
    public string? ExternalId, Email, Phone, FirstName, LastName, Locale, Timezone, City, Region, Country;
    public string[] Tags = [];
    public string Attributes = "{}";
    public string?[] Cells = [];
}

public sealed record ImportResult(long RowsRead, long Created, long Updated, long Skipped, long Failed);

/// <summary>
/// Runs one import: read rows, normalize them with <see cref="ContactFields"/> (bad rows become
/// errors, never stop the import), then per chunk load a staging table (binary COPY on PostgreSQL,
/// one prepared INSERT on SQLite) and apply it with a handful of set-based statements:
/// match existing contacts by externalId, then email, then phone; flag key conflicts; update the
/// matched; insert the rest with pre-assigned ids; add list membership. No per-row round trips.
/// </summary>
public sealed class ImportService(HeraldDb db, IEnumerable<IContactObserver> observers, TimeProvider clock,
    Microsoft.Extensions.Options.IOptions<ImportOptions> options, ILogger<ImportService> log)
{
    private const int FirstErrorsKept = 20;
    private const int NormalizeBatch = 8192;
    private readonly System.Diagnostics.Stopwatch _read = new(), _wait = new(), _stage = new(), _apply = new(), _notify = new();
    private string? _sequence;
    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    public async Task<ImportResult> RunAsync(long importId, CancellationToken ct)
    {
        var job = await db.Set<ImportJob>().FirstAsync(j => j.Id == importId, ct);
        var ws = await db.Workspaces.AsNoTracking().FirstAsync(w => w.Id == job.WorkspaceId, ct);
        job.Status = ImportStatus.Running;
        job.StartedAt = Now;
        job.RowsRead = job.Created = job.Updated = job.Skipped = job.Failed = 0;
        await db.Set<ImportRowError>().Where(e => e.ImportId == job.Id).ExecuteDeleteAsync(ct);
        await db.SaveChangesAsync(ct);

        var firstErrors = new List<object>();
        var pendingErrors = new List<ImportRowError>();
        void Reject(long line, string reason, string?[] cells)
        {
            job.Failed++;
            if (firstErrors.Count < FirstErrorsKept) firstErrors.Add(new { line, reason });
            pendingErrors.Add(new ImportRowError { ImportId = job.Id, Line = line, Reason = reason, Cells = JsonSerializer.Serialize(cells) });
        }

        try
        {
            var (headers, rows) = ImportReaders.Open(job.StoredPath, job.Format);
            if (headers.Length == 0 || headers.All(string.IsNullOrEmpty)) throw new InvalidDataException("The file has no header row.");
            var map = ImportMapping.Build(headers, job.Mapping is null ? null : JsonNode.Parse(job.Mapping) as JsonObject);
            if (!map.HasAddress) throw new InvalidDataException("No column maps to email, phone or externalId.");
            var extraTags = JsonSerializer.Deserialize<List<string>>(job.Tags) ?? [];
            var chunkSize = db.IsPostgres ? options.Value.PostgresChunkRows : options.Value.SqliteChunkRows;

            await db.Database.OpenConnectionAsync(ct);
            try
            {
                await CreateStageAsync(ct);
                // Reading and normalizing (phone parsing above all: CPU-heavy) run on a producer task, one chunk
                // ahead of the database: while chunk N is staged and applied, chunk N+1 is parsed. The channel holds
                // one chunk, so at most three are in memory. Lines keep their order (one producer, one consumer).
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
                var channel = Channel.CreateBounded<ReadChunk>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
                var producer = Task.Run(() => ProduceAsync(rows, map, ws.DefaultPhoneRegion, extraTags, chunkSize, channel.Writer, stop.Token));
                var consumed = false;
                try
                {
                    while (true)
                    {
                        _wait.Start();
                        var more = await channel.Reader.WaitToReadAsync(ct);
                        _wait.Stop();
                        if (!more) break;
                        while (channel.Reader.TryRead(out var c))
                        {
                            job.RowsRead += c.RowsRead;
                            foreach (var (line, reason, cells) in c.Rejected) Reject(line, reason, cells);
                            if (c.Rows.Count > 0) await ApplyChunkAsync(job, c.Rows, Reject, ct);
                            if (c.Rows.Count >= chunkSize) await SaveProgressAsync(job, firstErrors, pendingErrors, ct);
                        }
                    }
                    consumed = true;
                }
                finally
                {
                    if (!consumed)
                    {
                        await stop.CancelAsync();
                        try { await producer; } catch (Exception) { /* the consumer's exception is the one reported */ }
                    }
                }
                await producer; // a read error (e.g. a malformed XLSX) surfaces here, as it did inline
                log.LogInformation("Import {Id}: read+normalize {Read} ms (overlapped with the database), waited for rows {Wait} ms, stage {Stage} ms, apply {Apply} ms, notify {Notify} ms",
                    job.Id, _read.ElapsedMilliseconds, _wait.ElapsedMilliseconds, _stage.ElapsedMilliseconds, _apply.ElapsedMilliseconds, _notify.ElapsedMilliseconds);
                if (db.IsPostgres && job.Created > 10_000) await Exec("ANALYZE contact", ct);
            }
            finally
            {
                await db.Database.CloseConnectionAsync();
            }
            job.Status = ImportStatus.Completed;
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or IOException or InvalidOperationException && e is not OperationCanceledException)
        {
            log.LogWarning(e, "Import {Id} failed", job.Id);
            job.Status = ImportStatus.Failed;
            job.Error = e.Message;
        }
        job.FinishedAt = Now;
        await SaveProgressAsync(job, firstErrors, pendingErrors, ct);
        TryDelete(job.StoredPath);
        return new ImportResult(job.RowsRead, job.Created, job.Updated, job.Skipped, job.Failed);
    }

    /// <summary>Rows read since the previous chunk: the staged ones and those rejected by normalization or as in-file duplicates.</summary>
    private sealed class ReadChunk(int capacity)
    {
        public readonly List<StagedRow> Rows = new(capacity);
        public readonly List<(long Line, string Reason, string?[] Cells)> Rejected = [];
        public long RowsRead;
    }

    /// <summary>The producer: normalizes in parallel per batch, then dedupes in line order and hands over full chunks.</summary>
    private async Task ProduceAsync(IEnumerable<ImportRow> rows, ImportMapping map, string region, List<string> extraTags, int chunkSize,
        ChannelWriter<ReadChunk> writer, CancellationToken ct)
    {
        try
        {
            var seenEmail = new Dictionary<string, long>();
            var seenPhone = new Dictionary<string, long>();
            var seenExt = new Dictionary<string, long>();
            var chunk = new ReadChunk(chunkSize);
            _read.Start();
            foreach (var batch in rows.Chunk(NormalizeBatch))
            {
                ct.ThrowIfCancellationRequested();
                var normalized = new (StagedRow? Row, string? Reason)[batch.Length];
                Parallel.For(0, batch.Length, new ParallelOptions { CancellationToken = ct }, i =>
                {
                    var row = batch[i];
                    if (row.Malformed is { } bad) { normalized[i] = (null, bad); return; }
                    var staged = map.Normalize(row, region, extraTags, out var reason);
                    normalized[i] = (staged, reason);
                });
                for (var i = 0; i < batch.Length; i++)
                {
                    var row = batch[i];
                    chunk.RowsRead++;
                    var (staged, reason) = normalized[i];
                    if (staged is null) { chunk.Rejected.Add((row.Line, reason!, row.Cells)); continue; }
                    if (Duplicate(staged, seenEmail, seenPhone, seenExt) is { } dup) { chunk.Rejected.Add((row.Line, dup, row.Cells)); continue; }
                    chunk.Rows.Add(staged);
                    if (chunk.Rows.Count >= chunkSize)
                    {
                        _read.Stop();
                        await writer.WriteAsync(chunk, ct);
                        _read.Start();
                        chunk = new ReadChunk(chunkSize);
                    }
                }
            }
            _read.Stop();
            if (chunk.RowsRead > 0) await writer.WriteAsync(chunk, ct);
        }
        finally
        {
            _read.Stop();
            writer.TryComplete();
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private async Task SaveProgressAsync(ImportJob job, List<object> firstErrors, List<ImportRowError> pending, CancellationToken ct)
    {
        job.FirstErrors = JsonSerializer.Serialize(firstErrors);
        db.AddRange(pending);
        await db.SaveChangesAsync(ct);
        foreach (var e in pending) db.Entry(e).State = EntityState.Detached;
        pending.Clear();
    }

    private static string? Duplicate(StagedRow r, Dictionary<string, long> email, Dictionary<string, long> phone, Dictionary<string, long> ext)
    {
        if (r.ExternalId is { } x && ext.TryGetValue(x, out var l1)) return $"Duplicate in file: externalId '{x}' is also on line {l1}.";
        if (r.Email is { } e && email.TryGetValue(e, out var l2)) return $"Duplicate in file: email '{e}' is also on line {l2}.";
        if (r.Phone is { } p && phone.TryGetValue(p, out var l3)) return $"Duplicate in file: phone '{p}' is also on line {l3}.";
        if (r.ExternalId is not null) ext[r.ExternalId] = r.Line;
        if (r.Email is not null) email[r.Email] = r.Line;
        if (r.Phone is not null) phone[r.Phone] = r.Line;
        return null;
    }

    private DbConnection Conn => db.Database.GetDbConnection();

    /// <summary>A command on the context's connection, enlisted in its transaction (SQLite insists).</summary>
    private DbCommand NewCommand()
    {
        var cmd = Conn.CreateCommand();
        cmd.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        cmd.CommandTimeout = 600;
        return cmd;
    }

    private async Task<int> Exec(string sql, CancellationToken ct, params (string Name, object? Value)[] ps)
    {
        await using var cmd = NewCommand();
        cmd.CommandText = sql;
        cmd.CommandTimeout = 600;
        foreach (var (n, v) in ps)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = n;
            p.Value = v ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    private Task CreateStageAsync(CancellationToken ct) => db.IsPostgres
        ? Exec("""
            DROP TABLE IF EXISTS pg_temp.import_stage;
            CREATE TEMP TABLE import_stage (
              line bigint, external_id text, email text, phone text, first_name text, last_name text, locale text,
              timezone text, city text, region text, country text, tags text[], attributes jsonb,
              matched_id bigint, new_id bigint, reason text, skipped boolean NOT NULL DEFAULT false)
            """, ct)
        : Exec("""
            DROP TABLE IF EXISTS temp.import_stage;
            CREATE TEMP TABLE import_stage (
              line INTEGER, external_id TEXT, email TEXT, phone TEXT, first_name TEXT, last_name TEXT, locale TEXT,
              timezone TEXT, city TEXT, region TEXT, country TEXT, tags TEXT, attributes TEXT,
              matched_id INTEGER, new_id INTEGER, reason TEXT, skipped INTEGER NOT NULL DEFAULT 0)
            """, ct);

    private async Task ApplyChunkAsync(ImportJob job, List<StagedRow> chunk, Action<long, string, string?[]> reject, CancellationToken ct)
    {
        var now = Now;
        var ws = job.WorkspaceId;
        var pg = db.IsPostgres;
        List<long> created;
        int updated;
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            _stage.Start();
            await Exec(pg ? "TRUNCATE import_stage" : "DELETE FROM import_stage", ct);
            if (pg)
            {
                await CopyStagePostgresAsync(chunk, await ReserveIdsAsync(chunk.Count, ct), ct);
                // A temp table has no statistics until analyzed; the match joins below need them to pick hash joins.
                // Only the join keys: sampling the tags and attributes columns cost ~1.5 s a 100k chunk.
                await Exec("ANALYZE import_stage (external_id, email, phone)", ct);
            }
            else await InsertStageSqliteAsync(chunk, ct);
            _stage.Stop();
            _apply.Start();

            // ImportStageMatch: externalId wins, then email, then phone (as ContactService.UpsertAsync does).
            foreach (var key in new[] { "external_id", "email", "phone" })
            {
                await Exec(pg
                    ? $"UPDATE import_stage s SET matched_id = c.id FROM contact c WHERE s.matched_id IS NULL AND s.{key} IS NOT NULL AND c.workspace_id = @ws AND c.{key} = s.{key}"
                    : $"UPDATE import_stage SET matched_id = (SELECT c.id FROM contact c WHERE c.workspace_id = @ws AND c.{key} = import_stage.{key}) WHERE matched_id IS NULL AND {key} IS NOT NULL",
                    ct, ("@ws", ws));
            }
            // A key that belongs to a different contact than the matched one is a conflict, as in the API.
            foreach (var key in new[] { "email", "phone" })
            {
                await Exec(pg
                    ? $"UPDATE import_stage s SET reason = '{key} ' || s.{key} || ' belongs to another contact (' || c.id || ').' FROM contact c WHERE s.reason IS NULL AND s.matched_id IS NOT NULL AND c.workspace_id = @ws AND c.{key} = s.{key} AND c.id <> s.matched_id"
                    : $"UPDATE import_stage SET reason = (SELECT '{key} ' || import_stage.{key} || ' belongs to another contact (' || c.id || ').' FROM contact c WHERE c.workspace_id = @ws AND c.{key} = import_stage.{key} AND c.id <> import_stage.matched_id) WHERE reason IS NULL AND matched_id IS NOT NULL AND {key} IS NOT NULL AND EXISTS (SELECT 1 FROM contact c WHERE c.workspace_id = @ws AND c.{key} = import_stage.{key} AND c.id <> import_stage.matched_id)",
                    ct, ("@ws", ws));
            }
            if (job.Mode == ImportModes.Create)
                job.Skipped += await Exec($"UPDATE import_stage SET skipped = {(pg ? "true" : "1")} WHERE matched_id IS NOT NULL AND reason IS NULL", ct);

            // ImportStageUpdate: given fields replace, absent ones stay; tags are added; attributes merged.
            updated = await Exec(pg
                ? """
                  UPDATE contact c SET
                    external_id = COALESCE(s.external_id, c.external_id), email = COALESCE(s.email, c.email), phone = COALESCE(s.phone, c.phone),
                    first_name = COALESCE(s.first_name, c.first_name), last_name = COALESCE(s.last_name, c.last_name),
                    locale = COALESCE(s.locale, c.locale), timezone = COALESCE(s.timezone, c.timezone), city = COALESCE(s.city, c.city),
                    region = COALESCE(s.region, c.region), country = COALESCE(s.country, c.country),
                    tags = ARRAY(SELECT DISTINCT t FROM unnest(c.tags || s.tags) t), attributes = c.attributes || s.attributes, updated_at = @now
                  FROM import_stage s WHERE c.id = s.matched_id AND s.reason IS NULL AND NOT s.skipped
                  """
                : """
                  UPDATE contact SET
                    external_id = COALESCE(s.external_id, contact.external_id), email = COALESCE(s.email, contact.email), phone = COALESCE(s.phone, contact.phone),
                    first_name = COALESCE(s.first_name, contact.first_name), last_name = COALESCE(s.last_name, contact.last_name),
                    locale = COALESCE(s.locale, contact.locale), timezone = COALESCE(s.timezone, contact.timezone), city = COALESCE(s.city, contact.city),
                    region = COALESCE(s.region, contact.region), country = COALESCE(s.country, contact.country),
                    tags = (SELECT json_group_array(value) FROM (SELECT value FROM json_each(contact.tags) UNION SELECT value FROM json_each(s.tags))),
                    attributes = json_patch(contact.attributes, s.attributes), updated_at = @now
                  FROM import_stage s WHERE contact.id = s.matched_id AND s.reason IS NULL AND s.skipped = 0
                  """, ct, ("@now", now));

            // Ids are assigned in the stage first so list membership and observers know them without a lookup by key.
            if (pg)
            {
                // Every staged row was given an id from the sequence in the COPY (one reservation per chunk, instead of
                // an UPDATE rewriting every staged row); rows that matched or were refused give theirs back here (a gap
                // in the sequence, as a rolled-back insert leaves). On a first import nothing matches: no row is touched.
                await Exec("UPDATE import_stage SET new_id = NULL WHERE new_id IS NOT NULL AND (matched_id IS NOT NULL OR reason IS NOT NULL)", ct);
            }
            else
                await Exec("UPDATE import_stage SET new_id = (SELECT COALESCE(MAX(id), 0) FROM contact) + rowid WHERE matched_id IS NULL AND reason IS NULL", ct);

            // ImportStageInsert: ON CONFLICT DO NOTHING keeps a concurrent API insert of the same key from failing the chunk.
            // On PostgreSQL it is a speculative insertion (each unique index probed twice per row, ~15% of the insert's
            // CPU), so the plain INSERT runs first under a savepoint and the ON CONFLICT form only after a unique violation.
            if (pg)
            {
                await tx.CreateSavepointAsync("import_insert", ct);
                try
                {
                    created = await InsertNewAsync(ws, now, onConflict: false, ct);
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
                {
                    await tx.RollbackToSavepointAsync("import_insert", ct);
                    created = await InsertNewAsync(ws, now, onConflict: true, ct);
                }
            }
            else created = await InsertNewAsync(ws, now, onConflict: true, ct);
            // Rows whose insert lost to a concurrent writer are reported, not silently counted.
            var createdSet = created.ToHashSet();
            foreach (var row in await ReadStageAsync("SELECT line, new_id FROM import_stage WHERE new_id IS NOT NULL", ct))
                if (!createdSet.Contains(row.Id)) await Exec("UPDATE import_stage SET reason = 'Another contact with this address was created meanwhile.', new_id = NULL WHERE line = @l", ct, ("@l", row.Line));

            if (job.ListId is { } listId)
                await Exec($"""
                    INSERT INTO contact_list_member (list_id, contact_id, added_at)
                    SELECT @list, COALESCE(matched_id, new_id), @now FROM import_stage
                    WHERE reason IS NULL AND COALESCE(matched_id, new_id) IS NOT NULL AND {(pg ? "NOT skipped" : "skipped = 0")}
                    ON CONFLICT DO NOTHING
                    """, ct, ("@list", listId), ("@now", now));
            await tx.CommitAsync(ct);
            _apply.Stop();
        }
        _notify.Start();
        var byLine = chunk.ToDictionary(r => r.Line);
        foreach (var (line, reason) in await ReadReasonsAsync(ct))
            reject(line, reason, byLine[line].Cells);
        job.Created += created.Count;
        job.Updated += updated;
        foreach (var part in created.Chunk(options.Value.ObserverChunk))
            foreach (var o in observers) await o.ContactsCreatedAsync(ws, part, ct);
        _notify.Stop();
    }

    private async Task<List<long>> InsertNewAsync(long ws, DateTime now, bool onConflict, CancellationToken ct)
    {
        var pg = db.IsPostgres;
        var created = new List<long>();
        await using var cmd = NewCommand();
        var cols = "id, workspace_id, external_id, email, phone, first_name, last_name, locale, timezone, city, region, country, lifecycle, tags, attributes, email_consent, sms_consent, whatsapp_consent, push_consent, consent_detail, total_orders, total_spent, engagement_score, rfm_recency, rfm_frequency, rfm_monetary, created_at, updated_at";
        cmd.CommandText = $"""
            INSERT INTO contact ({cols})
            SELECT new_id, @ws, external_id, email, phone, first_name, last_name, locale, timezone, city, region, country, 'lead', {(pg ? "COALESCE(tags, '{}')" : "COALESCE(tags, '[]')")},
              COALESCE(attributes, '{"{}"}'), 'subscribed', 'subscribed', 'subscribed', 'subscribed', '{"{}"}', 0, 0, 0, 0, 0, 0, @now, @now
            FROM import_stage WHERE new_id IS NOT NULL ORDER BY new_id
            {(onConflict ? "ON CONFLICT DO NOTHING " : "")}RETURNING id
            """;
        AddParam(cmd, "@ws", ws);
        AddParam(cmd, "@now", now);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct)) created.Add(r.GetInt64(0));
        return created;
    }

    private static void AddParam(DbCommand cmd, string name, object? value)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        p.Value = value ?? DBNull.Value;
        cmd.Parameters.Add(p);
    }

    private async Task<List<(long Line, long Id)>> ReadStageAsync(string sql, CancellationToken ct)
    {
        var list = new List<(long, long)>();
        await using var cmd = NewCommand();
        cmd.CommandText = sql;
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct)) list.Add((r.GetInt64(0), r.GetInt64(1)));
        return list;
    }

    private async Task<List<(long, string)>> ReadReasonsAsync(CancellationToken ct)
    {
        var list = new List<(long, string)>();
        await using var cmd = NewCommand();
        cmd.CommandText = "SELECT line, reason FROM import_stage WHERE reason IS NOT NULL";
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct)) list.Add((r.GetInt64(0), r.GetString(1)));
        return list;
    }

    /// <summary>ImportStageCopy: binary COPY is the fastest way into PostgreSQL (no per-row statements or parsing).</summary>
    private async Task CopyStagePostgresAsync(List<StagedRow> chunk, long[] ids, CancellationToken ct)
    {
        var conn = (NpgsqlConnection)Conn;
        await using var w = await conn.BeginBinaryImportAsync(
            "COPY import_stage (line, new_id, external_id, email, phone, first_name, last_name, locale, timezone, city, region, country, tags, attributes) FROM STDIN (FORMAT BINARY)", ct);
        for (var i = 0; i < chunk.Count; i++)
        {
            var r = chunk[i];
            await w.StartRowAsync(ct);
            await w.WriteAsync(r.Line, NpgsqlDbType.Bigint, ct);
            await w.WriteAsync(ids[i], NpgsqlDbType.Bigint, ct);
            await WriteTextAsync(w, r.ExternalId, ct);
            await WriteTextAsync(w, r.Email, ct);
            await WriteTextAsync(w, r.Phone, ct);
            await WriteTextAsync(w, r.FirstName, ct);
            await WriteTextAsync(w, r.LastName, ct);
            await WriteTextAsync(w, r.Locale, ct);
            await WriteTextAsync(w, r.Timezone, ct);
            await WriteTextAsync(w, r.City, ct);
            await WriteTextAsync(w, r.Region, ct);
            await WriteTextAsync(w, r.Country, ct);
            await w.WriteAsync(r.Tags, NpgsqlDbType.Array | NpgsqlDbType.Text, ct);
            await w.WriteAsync(r.Attributes, NpgsqlDbType.Jsonb, ct);
        }
        await w.CompleteAsync(ct);
    }

    /// <summary>
    /// Takes <paramref name="count"/> ids from contact's sequence in one round trip. The sequence is named as a
    /// regclass literal: pg_get_serial_sequence() per row (catalog lookups) cost ~3.5x. Concurrent writers may
    /// interleave, so the ids are unique but not necessarily consecutive.
    /// </summary>
    private async Task<long[]> ReserveIdsAsync(int count, CancellationToken ct)
    {
        if (_sequence is null)
        {
            await using var q = NewCommand();
            q.CommandText = "SELECT pg_get_serial_sequence('contact', 'id')";
            _sequence = (string)(await q.ExecuteScalarAsync(ct))!;
        }
        var ids = new long[count];
        await using var cmd = NewCommand();
        cmd.CommandText = $"SELECT nextval('{_sequence.Replace("'", "''")}'::regclass) FROM generate_series(1, @n)";
        AddParam(cmd, "@n", count);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var i = 0;
        while (await r.ReadAsync(ct)) ids[i++] = r.GetInt64(0);
        return ids;
    }

    private static Task WriteTextAsync(NpgsqlBinaryImporter w, string? value, CancellationToken ct) =>
        value is null ? w.WriteNullAsync(ct) : w.WriteAsync(value, NpgsqlDbType.Text, ct);

    /// <summary>ImportStageInsert (SQLite): one prepared statement reused for every row inside the chunk's transaction.</summary>
    private async Task InsertStageSqliteAsync(List<StagedRow> chunk, CancellationToken ct)
    {
        await using var cmd = (SqliteCommand)NewCommand();
        cmd.CommandText = "INSERT INTO import_stage (line, external_id, email, phone, first_name, last_name, locale, timezone, city, region, country, tags, attributes) VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11, @p12)";
        var ps = Enumerable.Range(0, 13).Select(i => cmd.Parameters.Add($"@p{i}", i == 0 ? SqliteType.Integer : SqliteType.Text)).ToArray();
        cmd.Prepare();
        foreach (var r in chunk)
        {
            ps[0].Value = r.Line;
            var vals = new[] { r.ExternalId, r.Email, r.Phone, r.FirstName, r.LastName, r.Locale, r.Timezone, r.City, r.Region, r.Country };
            for (var i = 0; i < vals.Length; i++) ps[i + 1].Value = (object?)vals[i] ?? DBNull.Value;
            ps[11].Value = JsonSerializer.Serialize(r.Tags);
            ps[12].Value = r.Attributes;
            await cmd.ExecuteNonQueryAsync(ct);
        }
    }
}

/// <summary>Which column feeds which contact field: an explicit mapping or headers matched by name.</summary>
internal sealed class ImportMapping
{
    private static readonly Dictionary<string, string> Synonyms = new(StringComparer.Ordinal)
    {
        ["email"] = "email", ["emailaddress"] = "email", ["mail"] = "email",
        ["phone"] = "phone", ["phonenumber"] = "phone", ["mobile"] = "phone", ["mobilenumber"] = "phone", ["cell"] = "phone", ["whatsapp"] = "phone",
        ["name"] = "name", ["fullname"] = "name",
        ["firstname"] = "firstName", ["first"] = "firstName", ["givenname"] = "firstName",
        ["lastname"] = "lastName", ["last"] = "lastName", ["surname"] = "lastName", ["familyname"] = "lastName",
        ["externalid"] = "externalId", ["id"] = "externalId", ["customerid"] = "externalId",
        ["tags"] = "tags", ["tag"] = "tags",
        ["city"] = "city", ["town"] = "city",
        ["region"] = "region", ["state"] = "region", ["province"] = "region",
        ["country"] = "country",
        ["timezone"] = "timezone", ["tz"] = "timezone", ["timezoneid"] = "timezone",
        ["locale"] = "locale", ["language"] = "locale",
    };

    private static readonly HashSet<string> Targets = ["email", "phone", "name", "firstName", "lastName", "externalId", "tags", "city", "region", "country", "timezone", "locale"];

    private readonly string?[] _target;

    private ImportMapping(string?[] target) => _target = target;

    public bool HasAddress => _target.Any(t => t is "email" or "phone" or "externalId");

    /// <summary>An explicit mapping: header -> field, <c>attributes.key</c>, or null/"" to ignore the column. Unmapped headers are ignored.</summary>
    public static ImportMapping Build(string[] headers, JsonObject? mapping)
    {
        var target = new string?[headers.Length];
        for (var i = 0; i < headers.Length; i++)
        {
            var h = headers[i];
            if (mapping is not null)
            {
                target[i] = mapping.TryGetPropertyValue(h, out var m) ? m?.GetValue<string>() is { Length: > 0 } s ? s : null : null;
                continue;
            }
            target[i] = Suggest(h);
        }
        return new ImportMapping(target);
    }

    /// <summary>The field a column goes to without an explicit mapping: a known name (e.g. "E-mail" -> email), else an attribute; null for a blank header.</summary>
    public static string? Suggest(string header)
    {
        if (header.Length == 0) return null;
        var key = new string(header.Where(char.IsLetterOrDigit).ToArray()).ToLowerInvariant();
        return Synonyms.TryGetValue(key, out var f) ? f : "attributes." + AttributeKey(header);
    }

    /// <summary>The fields a column may be mapped to (besides <c>attributes.&lt;key&gt;</c>).</summary>
    public static IReadOnlyCollection<string> Fields => Targets;

    /// <summary>Checks an explicit mapping's targets; errors name <c>mapping.&lt;header&gt;</c>.</summary>
    public static void Validate(JsonObject mapping, Common.Validation v)
    {
        foreach (var (h, node) in mapping)
        {
            if (node is null) continue;
            if (node.GetValueKind() != JsonValueKind.String) { v.Add($"mapping.{h}", "Map a column to a field name (a string) or null."); continue; }
            var t = node.GetValue<string>();
            if (t.Length == 0 || Targets.Contains(t)) continue;
            if (t.StartsWith("attributes.", StringComparison.Ordinal) && t.Length > 11 && t.Length <= 75 && !t[11..].Contains('.')) continue;
            v.Add($"mapping.{h}", $"'{t}' is not an importable field. Use one of {string.Join(", ", Targets)} or attributes.<key>.");
        }
    }

    private static string AttributeKey(string header)
    {
        var k = header.Trim().Replace('.', '_').Replace('"', '_').Replace('\\', '_');
        return k.Length > 64 ? k[..64] : k;
    }

    public StagedRow? Normalize(ImportRow row, string region, List<string> extraTags, out string? reason)
    {
        reason = null;
        var r = new StagedRow { Line = row.Line, Cells = row.Cells };
        JsonObject? attrs = null;
        var tags = extraTags.Count > 0 ? new List<string?>(extraTags) : null;
        string? name = null;
        for (var i = 0; i < _target.Length && i < row.Cells.Length; i++)
        {
            var t = _target[i];
            var raw = row.Cells[i]?.Trim();
            if (t is null || string.IsNullOrEmpty(raw)) continue;
            switch (t)
            {
                case "email":
                    r.Email = ContactFields.NormalizeEmail(raw, out var ee);
                    if (ee is not null) { reason = "Bad email: " + ee; return null; }
                    break;
                case "phone":
                    r.Phone = ContactFields.NormalizePhone(raw, region, out var pe);
                    if (pe is not null) { reason = "Bad phone: " + pe; return null; }
                    break;
                case "externalId": r.ExternalId = Limit(raw, 200, "externalId", ref reason); break;
                case "name": name = raw; break;
                case "firstName": r.FirstName = Limit(raw, 200, "firstName", ref reason); break;
                case "lastName": r.LastName = Limit(raw, 200, "lastName", ref reason); break;
                case "city": r.City = Limit(raw, 200, "city", ref reason); break;
                case "region": r.Region = Limit(raw, 200, "region", ref reason); break;
                case "country": r.Country = Limit(raw, 100, "country", ref reason); break;
                case "locale": r.Locale = Limit(raw, 35, "locale", ref reason); break;
                case "timezone":
                    if (!ContactFields.IsValidTimezone(raw)) { reason = $"Bad timezone: '{raw}' is not a known IANA timezone."; return null; }
                    r.Timezone = raw;
                    break;
                case "tags":
                    (tags ??= []).AddRange(raw.Split([',', ';', '|'], StringSplitOptions.RemoveEmptyEntries));
                    break;
                default:
                    (attrs ??= [])[t["attributes.".Length..]] = AttributeValue(raw);
                    break;
            }
            if (reason is not null) return null;
        }
        if (name is not null && r.FirstName is null && r.LastName is null)
        {
            var parts = name.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
            r.FirstName = parts.Length > 0 ? Limit(parts[0], 200, "name", ref reason) : null;
            r.LastName = parts.Length > 1 ? Limit(parts[1], 200, "name", ref reason) : null;
            if (reason is not null) return null;
        }
        if (r.Email is null && r.Phone is null && r.ExternalId is null) { reason = "Missing address: no email, phone or externalId."; return null; }
        if (tags is not null)
        {
            r.Tags = [.. ContactFields.NormalizeTags(tags)];
            if (r.Tags.Length > 100 || r.Tags.Any(x => x.Length > 64)) { reason = "Too many or too long tags (at most 100 of 64 characters)."; return null; }
        }
        if (attrs is not null) r.Attributes = attrs.ToJsonString();
        return r;
    }

    private static string? Limit(string value, int max, string field, ref string? reason)
    {
        if (value.Length > max) reason = $"{field} is longer than {max} characters.";
        return value;
    }

    /// <summary>Numbers and booleans are kept typed so filters compare them as such; "007" stays text.</summary>
    private static JsonNode AttributeValue(string raw)
    {
        if (raw is "true" or "false") return JsonValue.Create(raw == "true");
        if (raw.Length < 16 && !(raw.Length > 1 && raw[0] == '0' && raw[1] != '.')
            && decimal.TryParse(raw, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var d))
            return JsonValue.Create(d);
        return JsonValue.Create(raw);
    }
}
