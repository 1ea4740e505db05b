using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Herald.Audit;
using Herald.Auth;
using Herald.Common;
using Herald.Hosting;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Herald.Audience;

/// <summary>What an import is asked to do (the multipart fields of POST /api/v1/imports, as text).</summary>
public sealed record ImportRequest(string FileName, string? Mode, string? Mapping, string? ListId, string? Tags);

/// <summary>The first rows of an uploaded file and the field each column would go to, for the mapping step.</summary>
public sealed record ImportSample(string Format, string[] Headers, IReadOnlyList<string?[]> Rows, string?[] Suggested);

/// <summary>
/// Starting an import and reading its progress: shared by the API (multipart upload) and the dashboard's import
/// wizard. The file is stored under <c>{DataDirectory}/imports</c> and the <see cref="ImportRunner"/> does the work.
/// </summary>
public sealed class ImportUploads(HeraldDb db, AuditLog audit, TimeProvider clock, ImportQueue queue, IOptions<HeraldOptions> heraldOptions)
{
    /// <summary>Checks the request and the file's format, stores the file, records the job and queues it. <paramref name="open"/> is called twice.</summary>
    public async Task<ImportJob> StartAsync(Caller caller, Func<Stream> open, long length, ImportRequest request, CancellationToken ct)
    {
        if (length == 0) throw ValidationFailedException.For("file", "The file is empty.");
        var v = new Validation();
        var mode = request.Mode is { Length: > 0 } m ? m : ImportModes.Upsert;
        if (mode is not (ImportModes.Upsert or ImportModes.Create)) v.Add("mode", "Use 'upsert' or 'create'.");
        JsonObject? mapping = null;
        if (request.Mapping is { Length: > 0 } mj)
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
        if (request.ListId is { Length: > 0 } ls)
        {
            if (!long.TryParse(ls, out var lid) || !await db.Set<ContactList>().AnyAsync(l => l.Id == lid && l.WorkspaceId == caller.WorkspaceId, ct))
                v.Add("listId", $"There is no list {ls}.");
            else listId = lid;
        }
        var tags = ParseTags(request.Tags ?? "", v);

        string? format;
        await using (var head = open())
        {
            var buf = new byte[4096];
            var n = await head.ReadAtLeastAsync(buf, buf.Length, throwOnEndOfStream: false, ct);
            format = ImportReaders.DetectFormat(request.FileName, buf.AsSpan(0, n));
            if (format is null) v.Add("file", "The file is neither CSV nor XLSX.");
            else if (format == "csv" && Encoding.UTF8.GetString(buf, 0, n).Trim('\uFEFF', ' ', '\r', '\n', '\t').Length == 0) v.Add("file", "The file is empty.");
        }
        v.ThrowIfInvalid();

        var dir = Path.Combine(heraldOptions.Value.DataDirectory, "imports");
        Directory.CreateDirectory(dir);
        var stored = Path.Combine(dir, $"{Guid.NewGuid():N}.{format}");
        await using (var target = File.Create(stored))
        await using (var src = open())
            await src.CopyToAsync(target, ct);

        var job = new ImportJob
        {
            WorkspaceId = caller.WorkspaceId, FileName = Path.GetFileName(request.FileName), Format = format!, Mode = mode, ListId = listId,
            Tags = JsonSerializer.Serialize(tags), Mapping = mapping?.ToJsonString(), StoredPath = stored, FileBytes = length,
            CreatedBy = caller.Actor, CreatedAt = clock.GetUtcNow().UtcDateTime,
        };
        db.Add(job);
        await db.SaveChangesAsync(ct);
        audit.Record(caller, "import.start", "import", job.Id, new { job.FileName, job.FileBytes, job.Mode });
        await db.SaveChangesAsync(ct);
        queue.Enqueue(job.Id);
        return job;
    }

    public async Task<ImportDto> GetAsync(Caller caller, long id, CancellationToken ct) => ImportDto.From(await FindAsync(caller, id, ct));

    public async Task<ImportJob> FindAsync(Caller caller, long id, CancellationToken ct) =>
        await db.Set<ImportJob>().AsNoTracking().FirstOrDefaultAsync(j => j.Id == id && j.WorkspaceId == caller.WorkspaceId, ct)
        ?? throw new NotFoundException($"Import {id}");

    /// <summary>The header, the first <paramref name="rows"/> rows and the suggested field per column of a file on disk.</summary>
    public static ImportSample Sample(string path, string fileName, int rows)
    {
        var head = new byte[4096];
        int n;
        using (var f = File.OpenRead(path)) n = f.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        var format = ImportReaders.DetectFormat(fileName, head.AsSpan(0, n))
            ?? throw ValidationFailedException.For("file", "The file is neither CSV nor XLSX.");
        var (headers, all) = ImportReaders.Open(path, format);
        var first = all.Take(rows).Select(r => r.Cells).ToList();
        return new ImportSample(format, headers, first, headers.Select(ImportMapping.Suggest).ToArray());
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
}
