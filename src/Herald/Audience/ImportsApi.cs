using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Herald.Audit;
using Herald.Auth;
using Herald.Common;
using Herald.Hosting;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Herald.Audience;

public sealed record ImportErrorDto(long Line, string Reason);

public sealed record ImportDto(string Id, string Status, string FileName, string Format, string Mode, string? ListId,
    long RowsRead, long Created, long Updated, long Skipped, long Failed, IReadOnlyList<ImportErrorDto> FirstErrors,
    string? Error, DateTime CreatedAt, DateTime? StartedAt, DateTime? FinishedAt)
{
    public static ImportDto From(ImportJob j) => new(j.Id.ToString(CultureInfo.InvariantCulture), j.Status, j.FileName, j.Format, j.Mode,
        j.ListId?.ToString(CultureInfo.InvariantCulture), j.RowsRead, j.Created, j.Updated, j.Skipped, j.Failed,
        JsonSerializer.Deserialize<List<ImportErrorDto>>(j.FirstErrors, HeraldJson.Options) ?? [], j.Error, j.CreatedAt, j.StartedAt, j.FinishedAt);
}

/// <summary>/api/v1/imports: upload (202), progress, and errors.csv.</summary>
public static class ImportsApi
{
    public static void MapImportsApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/v1/imports").WithTags("Audience");

        g.MapPost("/", async (HttpContext http, HeraldDb db, AuditLog audit, TimeProvider clock, ImportQueue queue,
            IOptions<ImportOptions> importOptions, IOptions<HeraldOptions> heraldOptions, CancellationToken ct) =>
        {
            var caller = http.Current();
            var max = importOptions.Value.MaxFileBytes;
            if (http.Request.ContentLength > max + 1024 * 1024)
                throw new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge);
            if (!http.Request.HasFormContentType) throw ValidationFailedException.For("file", "Send multipart/form-data with a file field.");
            var form = await http.Request.ReadFormAsync(ct);
            var file = form.Files.GetFile("file") ?? form.Files.FirstOrDefault() ?? throw ValidationFailedException.For("file", "Attach the CSV or XLSX file as 'file'.");
            if (file.Length > max) throw new BadHttpRequestException("File too large.", StatusCodes.Status413PayloadTooLarge);
            if (file.Length == 0) throw ValidationFailedException.For("file", "The file is empty.");

            var v = new Validation();
            var mode = form["mode"].ToString() is { Length: > 0 } m ? m : ImportModes.Upsert;
            if (mode is not (ImportModes.Upsert or ImportModes.Create)) v.Add("mode", "Use 'upsert' or 'create'.");
            JsonObject? mapping = null;
            if (form["mapping"].ToString() is { Length: > 0 } mj)
            {
                try
                {
                    mapping = JsonNode.Parse(mj) as JsonObject;
                    if (mapping is null) v.Add("mapping", "The mapping is a JSON object {column: field}.");
                    else ImportMapping.Validate(mapping, v);
                }
                catch (JsonException) { v.Add("mapping", "The mapping is not valid JSON."); }
            }
            long? listId = null;
            if (form["listId"].ToString() is { Length: > 0 } ls)
            {
                if (!long.TryParse(ls, out var lid) || !await db.Set<ContactList>().AnyAsync(l => l.Id == lid && l.WorkspaceId == caller.WorkspaceId, ct))
                    v.Add("listId", $"There is no list {ls}.");
                else listId = lid;
            }
            var tags = ParseTags(form["tags"].ToString(), v);

            await using var head = file.OpenReadStream();
            var buf = new byte[4096];
            var n = await head.ReadAtLeastAsync(buf, buf.Length, throwOnEndOfStream: false, ct);
            var format = ImportReaders.DetectFormat(file.FileName, buf.AsSpan(0, n));
            if (format is null) v.Add("file", "The file is neither CSV nor XLSX.");
            else if (format == "csv" && Encoding.UTF8.GetString(buf, 0, n).Trim('\uFEFF', ' ', '\r', '\n', '\t').Length == 0) v.Add("file", "The file is empty.");
            v.ThrowIfInvalid();

            var dir = Path.Combine(heraldOptions.Value.DataDirectory, "imports");
            Directory.CreateDirectory(dir);
            var stored = Path.Combine(dir, $"{Guid.NewGuid():N}.{format}");
            await using (var target = File.Create(stored))
            await using (var src = file.OpenReadStream())
                await src.CopyToAsync(target, ct);

            var job = new ImportJob
            {
                WorkspaceId = caller.WorkspaceId, FileName = Path.GetFileName(file.FileName), Format = format!, Mode = mode, ListId = listId,
                Tags = JsonSerializer.Serialize(tags), Mapping = mapping?.ToJsonString(), StoredPath = stored, FileBytes = file.Length,
                CreatedBy = caller.Actor, CreatedAt = clock.GetUtcNow().UtcDateTime,
            };
            db.Add(job);
            await db.SaveChangesAsync(ct);
            audit.Record(caller, "import.start", "import", job.Id, new { job.FileName, job.FileBytes, job.Mode });
            await db.SaveChangesAsync(ct);
            queue.Enqueue(job.Id);
            return TypedResults.Accepted($"/api/v1/imports/{job.Id}", new { id = job.Id.ToString(CultureInfo.InvariantCulture) });
        }).RequireRole(Role.Editor).DisableAntiforgery().WithMetadata(new BodySizeLimitAttribute(HeraldHost.MaxAnyBodyBytes));

        g.MapGet("/{id:long}", async (HttpContext http, long id, HeraldDb db, CancellationToken ct) =>
            TypedResults.Ok(ImportDto.From(await FindAsync(db, http.Current(), id, ct)))).RequireRole(Role.Viewer);

        g.MapGet("/{id:long}/errors.csv", async (HttpContext http, long id, HeraldDb db, CancellationToken ct) =>
        {
            var job = await FindAsync(db, http.Current(), id, ct);
            http.Response.ContentType = "text/csv; charset=utf-8";
            http.Response.Headers.ContentDisposition = $"attachment; filename=\"import-{job.Id}-errors.csv\"";
            await using var w = new StreamWriter(http.Response.Body, new UTF8Encoding(false), 1 << 16);
            await w.WriteLineAsync("line,reason,cells");
            var last = 0L;
            while (true)
            {
                var page = await db.Set<ImportRowError>().AsNoTracking().Where(e => e.ImportId == job.Id && e.Id > last)
                    .OrderBy(e => e.Id).Take(5000).ToListAsync(ct);
                if (page.Count == 0) break;
                foreach (var e in page.OrderBy(e => e.Line))
                {
                    var cells = e.Cells is null ? [] : JsonSerializer.Deserialize<string?[]>(e.Cells) ?? [];
                    var raw = string.Join(",", cells.Select(c => Csv.Cell(c)));
                    await w.WriteLineAsync($"{e.Line},{Csv.Cell(e.Reason)},{Csv.Cell(raw)}");
                }
                last = page[^1].Id;
            }
            await w.FlushAsync(ct);
            return Results.Empty;
        }).RequireRole(Role.Viewer);
    }

    private static List<string> ParseTags(string raw, Validation v)
    {
        if (string.IsNullOrWhiteSpace(raw)) return [];
        List<string?> items;
        if (raw.TrimStart().StartsWith('['))
        {
            try { items = JsonSerializer.Deserialize<List<string?>>(raw) ?? []; }
            catch (JsonException) { v.Add("tags", "Give tags as a JSON array or comma-separated."); return []; }
        }
        else items = [.. raw.Split(',')];
        var tags = Contacts.ContactFields.NormalizeTags(items);
        if (tags.Count > 100 || tags.Any(t => t.Length > 64)) v.Add("tags", "At most 100 tags of 64 characters.");
        return tags;
    }

    private static async Task<ImportJob> FindAsync(HeraldDb db, Caller caller, long id, CancellationToken ct) =>
        await db.Set<ImportJob>().AsNoTracking().FirstOrDefaultAsync(j => j.Id == id && j.WorkspaceId == caller.WorkspaceId, ct)
        ?? throw new NotFoundException($"Import {id}");
}

/// <summary>In-process queue of import ids; the <see cref="ImportRunner"/> drains it.</summary>
public sealed class ImportQueue
{
    private readonly Channel<long> _channel = Channel.CreateUnbounded<long>();
    public void Enqueue(long id) => _channel.Writer.TryWrite(id);
    public ChannelReader<long> Reader => _channel.Reader;
}

/// <summary>
/// Runs uploaded imports one at a time on the node that received the file (the upload is a local
/// file). Part of the web role: an import answers 202 and must progress even on a web-only node.
/// On start it picks up imports left queued or running by a previous process.
/// </summary>
public sealed class ImportRunner(ImportQueue queue, IServiceScopeFactory scopes, ILogger<ImportRunner> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await using (var scope = scopes.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
                foreach (var id in await db.Set<ImportJob>().Where(j => j.Status == ImportStatus.Queued || j.Status == ImportStatus.Running)
                    .OrderBy(j => j.Id).Select(j => j.Id).ToListAsync(stoppingToken))
                    queue.Enqueue(id);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogWarning(e, "Could not look for unfinished imports");
        }
        await foreach (var id in queue.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<ImportService>().RunAsync(id, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                log.LogError(e, "Import {Id} crashed", id);
                await MarkFailedAsync(id, e);
            }
        }
    }

    private async Task MarkFailedAsync(long id, Exception e)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
            await db.Set<ImportJob>().Where(j => j.Id == id).ExecuteUpdateAsync(s => s
                .SetProperty(j => j.Status, ImportStatus.Failed).SetProperty(j => j.Error, "The import stopped: " + e.GetType().Name));
        }
        catch (Exception inner)
        {
            log.LogError(inner, "Could not mark import {Id} failed", id);
        }
    }
}
