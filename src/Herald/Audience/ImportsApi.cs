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

        g.MapPost("/", async (HttpContext http, ImportUploads uploads, IOptions<ImportOptions> importOptions, CancellationToken ct) =>
        {
            var max = importOptions.Value.MaxFileBytes;
            if (http.Request.ContentLength > max + 1024 * 1024)
                throw new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge);
            if (!http.Request.HasFormContentType) throw ValidationFailedException.For("file", "Send multipart/form-data with a file field.");
            var form = await http.Request.ReadFormAsync(ct);
            var file = form.Files.GetFile("file") ?? form.Files.FirstOrDefault() ?? throw ValidationFailedException.For("file", "Attach the CSV or XLSX file as 'file'.");
            if (file.Length > max) throw new BadHttpRequestException("File too large.", StatusCodes.Status413PayloadTooLarge);
            var job = await uploads.StartAsync(http.Current(), file.OpenReadStream, file.Length,
                new ImportRequest(file.FileName, form["mode"].ToString(), form["mapping"].ToString(), form["listId"].ToString(), form["tags"].ToString()), ct);
            return TypedResults.Accepted($"/api/v1/imports/{job.Id}", new { id = job.Id.ToString(CultureInfo.InvariantCulture) });
        }).RequireRole(Role.Editor).DisableAntiforgery().WithMetadata(new BodySizeLimitAttribute(HeraldHost.MaxAnyBodyBytes));

        g.MapGet("/{id:long}", async (HttpContext http, long id, ImportUploads uploads, CancellationToken ct) =>
            TypedResults.Ok(await uploads.GetAsync(http.Current(), id, ct))).RequireRole(Role.Viewer);

        g.MapGet("/{id:long}/errors.csv", async (HttpContext http, long id, HeraldDb db, ImportUploads uploads, CancellationToken ct) =>
        {
            var job = await uploads.FindAsync(http.Current(), id, ct);
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
