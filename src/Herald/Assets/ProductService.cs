using System.Globalization;
using Herald.Audience;
using Herald.Audit;
using Herald.Auth;
using Herald.Campaigns;
using Herald.Common;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;

namespace Herald.Assets;

/// <summary>Body of POST and PUT /api/v1/products (PUT replaces every field).</summary>
public sealed class ProductInput
{
    public string? Sku { get; set; }
    public string? Name { get; set; }
    public decimal? Price { get; set; }
    public string? Currency { get; set; }
    public string? Url { get; set; }
    public string? ImageUrl { get; set; }
    [System.Text.Json.Serialization.JsonNumberHandling(System.Text.Json.Serialization.JsonNumberHandling.AllowReadingFromString)]
    public long? MediaId { get; set; }
}

/// <summary>A product as read back; <c>imageUrl</c> is the media item's public URL when the image is a media item.</summary>
public sealed record ProductDto(string Id, string Sku, string Name, decimal? Price, string? Currency, string? Url, string? ImageUrl,
    string? MediaId, DateTime CreatedAt, DateTime UpdatedAt);

public sealed record ProductImportError(long Line, string Reason);

/// <summary>What a CSV import did: counts and the failing rows with their reasons.</summary>
public sealed record ProductImportResult(int RowsRead, int Created, int Updated, int Failed, IReadOnlyList<ProductImportError> Errors);

/// <summary>The product catalog: CRUD and CSV/XLSX import (same readers as the contact import, upsert by SKU).</summary>
public sealed class ProductService(HeraldDb db, AuditLog audit, TimeProvider clock, MediaService media)
{
    public const int MaxImportErrors = 1000;

    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    public async Task<Product> GetAsync(Caller caller, long id, CancellationToken ct) =>
        await db.Set<Product>().FirstOrDefaultAsync(p => p.Id == id && p.WorkspaceId == caller.WorkspaceId, ct)
        ?? throw new NotFoundException($"Product {id}");

    public async Task<ProductDto> ToDtoAsync(Product p, CancellationToken ct) => (await ToDtosAsync([p], ct))[0];

    public async Task<List<ProductDto>> ToDtosAsync(IReadOnlyList<Product> products, CancellationToken ct)
    {
        var ids = products.Where(p => p.MediaId != null).Select(p => p.MediaId!.Value).Distinct().ToList();
        var keys = ids.Count == 0 ? [] : await db.Set<MediaItem>().AsNoTracking().Where(m => ids.Contains(m.Id)).ToDictionaryAsync(m => m.Id, m => m.Key, ct);
        return products.Select(p => new ProductDto(p.Id.ToString(CultureInfo.InvariantCulture), p.Sku, p.Name, p.Price, p.Currency, p.Url,
            p.MediaId is { } m && keys.TryGetValue(m, out var key) ? media.UrlOf(key) : p.ImageUrl,
            p.MediaId?.ToString(CultureInfo.InvariantCulture), p.CreatedAt, p.UpdatedAt)).ToList();
    }

    public async Task<Paged<ProductDto>> ListAsync(Caller caller, string? q, PageRequest page, CancellationToken ct)
    {
        var query = db.Set<Product>().AsNoTracking().Where(p => p.WorkspaceId == caller.WorkspaceId);
        if (!string.IsNullOrWhiteSpace(q))
        {
            var term = q.Trim();
            query = query.Where(p => p.Sku.Contains(term) || p.Name.Contains(term));
        }
        var total = await query.LongCountAsync(ct);
        var rows = await query.OrderBy(p => p.Sku).Skip(page.Skip).Take(page.Limit).ToListAsync(ct);
        return new Paged<ProductDto>(await ToDtosAsync(rows, ct), total, page.Page, page.Limit);
    }

    public async Task<Product> CreateAsync(Caller caller, ProductInput input, CancellationToken ct)
    {
        var v = new Validation();
        var n = Normalize(input, v, "");
        await CheckMediaAsync(caller.WorkspaceId, n.MediaId, v, "mediaId", ct);
        if (n.Sku is not null && await db.Set<Product>().AnyAsync(p => p.WorkspaceId == caller.WorkspaceId && p.Sku == n.Sku, ct))
            throw new ConflictException($"A product with SKU '{n.Sku}' exists already.");
        v.ThrowIfInvalid();
        var p = new Product { WorkspaceId = caller.WorkspaceId, Sku = "", Name = "", CreatedAt = Now };
        n.ApplyTo(p, Now);
        db.Add(p);
        await db.SaveChangesAsync(ct);
        audit.Record(caller, "product.create", "product", p.Id, new { p.Sku });
        await db.SaveChangesAsync(ct);
        return p;
    }

    public async Task<Product> UpdateAsync(Caller caller, long id, ProductInput input, CancellationToken ct)
    {
        var p = await GetAsync(caller, id, ct);
        var v = new Validation();
        var n = Normalize(input, v, "");
        await CheckMediaAsync(caller.WorkspaceId, n.MediaId, v, "mediaId", ct);
        if (n.Sku is not null && n.Sku != p.Sku && await db.Set<Product>().AnyAsync(x => x.WorkspaceId == caller.WorkspaceId && x.Sku == n.Sku, ct))
            throw new ConflictException($"A product with SKU '{n.Sku}' exists already.");
        v.ThrowIfInvalid();
        n.ApplyTo(p, Now);
        audit.Record(caller, "product.update", "product", p.Id, new { p.Sku });
        await db.SaveChangesAsync(ct);
        return p;
    }

    /// <summary>Deletes a product; 409 while a campaign that is pending, approved, running or paused names it.</summary>
    public async Task DeleteAsync(Caller caller, long id, CancellationToken ct)
    {
        var p = await GetAsync(caller, id, ct);
        var campaign = await db.Set<Campaign>().AsNoTracking()
            .Where(c => c.WorkspaceId == caller.WorkspaceId && c.ProductId == id && MediaService.InUseStatuses.Contains(c.Status))
            .Select(c => new { c.Id, c.Name, c.Status }).FirstOrDefaultAsync(ct);
        if (campaign is not null)
            throw new ConflictException($"Product {id} is used by campaign {campaign.Id} ('{campaign.Name}', {campaign.Status.Replace('_', ' ')}).", campaign.Status);
        db.Remove(p);
        audit.Record(caller, "product.delete", "product", p.Id, new { p.Sku });
        await db.SaveChangesAsync(ct);
    }

    /// <summary>
    /// Imports a CSV or XLSX file (header row; columns sku, name, price, currency, url, imageUrl or image_url, mediaId):
    /// rows upsert by SKU, a bad row is reported with its line and never stops the others. Synchronous: catalogs are small.
    /// </summary>
    public async Task<ProductImportResult> ImportAsync(Caller caller, string path, string format, CancellationToken ct)
    {
        var (headers, rows) = ImportReaders.Open(path, format);
        var col = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < headers.Length; i++)
        {
            var key = headers[i].Replace("_", "").Replace(" ", "").ToLowerInvariant();
            if (key is "sku" or "name" or "price" or "currency" or "url" or "imageurl" or "mediaid") col.TryAdd(key, i);
        }
        if (!col.ContainsKey("sku") || !col.ContainsKey("name"))
            throw ValidationFailedException.For("file", $"The header must name the columns sku and name (found: {string.Join(", ", headers)}).");

        var errors = new List<ProductImportError>();
        var parsed = new List<(long Line, Normalized N)>();
        var read = 0;
        var failed = 0;
        foreach (var row in rows)
        {
            read++;
            if (row.Malformed is { } bad) { failed++; AddError(errors, row.Line, bad); continue; }
            string? Cell(string k) => col.TryGetValue(k, out var i) && i < row.Cells.Length ? row.Cells[i]?.Trim() : null;
            var v = new Validation();
            decimal? price = null;
            if (Cell("price") is { } ps)
            {
                if (decimal.TryParse(ps, NumberStyles.Number, CultureInfo.InvariantCulture, out var pv)) price = pv;
                else v.Add("price", $"'{ps}' is not a number.");
            }
            long? mediaId = null;
            if (Cell("mediaid") is { } ms)
            {
                if (long.TryParse(ms, CultureInfo.InvariantCulture, out var mv)) mediaId = mv;
                else v.Add("mediaId", $"'{ms}' is not a media id.");
            }
            var n = Normalize(new ProductInput
            {
                Sku = Cell("sku"), Name = Cell("name"), Price = price, Currency = Cell("currency"), Url = Cell("url"), ImageUrl = Cell("imageurl"), MediaId = mediaId,
            }, v, "");
            if (!v.IsValid) { failed++; AddError(errors, row.Line, Describe(v)); continue; }
            parsed.Add((row.Line, n));
        }

        // Media ids and existing SKUs in two set queries, not one per row.
        var mediaIds = parsed.Where(x => x.N.MediaId != null).Select(x => x.N.MediaId!.Value).Distinct().ToList();
        var images = mediaIds.Count == 0 ? [] : (await db.Set<MediaItem>().AsNoTracking()
            .Where(m => m.WorkspaceId == caller.WorkspaceId && mediaIds.Contains(m.Id) && m.Kind == MediaKinds.Image).Select(m => m.Id).ToListAsync(ct)).ToHashSet();
        var skus = parsed.Select(x => x.N.Sku!).Distinct().ToList();
        var existing = new Dictionary<string, Product>(StringComparer.Ordinal);
        foreach (var chunk in skus.Chunk(500))
            foreach (var p in await db.Set<Product>().Where(p => p.WorkspaceId == caller.WorkspaceId && chunk.Contains(p.Sku)).ToListAsync(ct))
                existing[p.Sku] = p;

        int created = 0, updated = 0;
        var createdHere = new HashSet<string>(StringComparer.Ordinal);
        var now = Now;
        foreach (var (line, n) in parsed)
        {
            if (n.MediaId is { } mid && !images.Contains(mid)) { failed++; AddError(errors, line, $"mediaId: there is no image {mid} in this workspace."); continue; }
            if (existing.TryGetValue(n.Sku!, out var p))
            {
                // A SKU repeated in the file: the later row wins, counted once (as created when it was new).
                if (!createdHere.Contains(p.Sku)) updated++;
                n.ApplyTo(p, now);
            }
            else
            {
                p = new Product { WorkspaceId = caller.WorkspaceId, Sku = "", Name = "", CreatedAt = now };
                n.ApplyTo(p, now);
                db.Add(p);
                existing[p.Sku] = p;
                createdHere.Add(p.Sku);
                created++;
            }
        }
        if (created + updated > 0) audit.Record(caller, "product.import", "product", null, new { created, updated, failed });
        await db.SaveChangesAsync(ct);
        return new ProductImportResult(read, created, updated, failed, errors);
    }

    private static void AddError(List<ProductImportError> errors, long line, string reason)
    {
        if (errors.Count < MaxImportErrors) errors.Add(new ProductImportError(line, reason));
    }

    private static string Describe(Validation v) => string.Join(" ", v.ToDictionary().Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"));

    private async Task CheckMediaAsync(long workspaceId, long? mediaId, Validation v, string field, CancellationToken ct)
    {
        if (mediaId is not { } id) return;
        var kind = await db.Set<MediaItem>().AsNoTracking().Where(m => m.Id == id && m.WorkspaceId == workspaceId).Select(m => m.Kind).FirstOrDefaultAsync(ct);
        if (kind is null) v.Add(field, $"There is no media {id} in this workspace.");
        else if (kind != MediaKinds.Image) v.Add(field, $"Media {id} is a {kind}; a product image must be an image.");
    }

    private sealed record Normalized(string? Sku, string? Name, decimal? Price, string? Currency, string? Url, string? ImageUrl, long? MediaId)
    {
        public void ApplyTo(Product p, DateTime now)
        {
            p.Sku = Sku!;
            p.Name = Name!;
            p.Price = Price;
            p.Currency = Currency;
            p.Url = Url;
            p.ImageUrl = MediaId is null ? ImageUrl : null;
            p.MediaId = MediaId;
            p.UpdatedAt = now;
        }
    }

    private static Normalized Normalize(ProductInput input, Validation v, string prefix)
    {
        string F(string name) => prefix + name;
        var sku = input.Sku?.Trim();
        if (string.IsNullOrEmpty(sku)) v.Add(F("sku"), "Give the product's SKU.");
        else if (sku.Length > 100) v.Add(F("sku"), "At most 100 characters.");
        var name = input.Name?.Trim();
        if (string.IsNullOrEmpty(name)) v.Add(F("name"), "Give the product's name.");
        else if (name.Length > 300) v.Add(F("name"), "At most 300 characters.");
        if (input.Price is < 0) v.Add(F("price"), "The price cannot be negative.");
        var currency = string.IsNullOrWhiteSpace(input.Currency) ? null : input.Currency.Trim().ToUpperInvariant();
        if (currency is not null && (currency.Length != 3 || !currency.All(char.IsAsciiLetterUpper))) v.Add(F("currency"), "Use a 3-letter ISO 4217 code such as INR or USD.");
        var url = string.IsNullOrWhiteSpace(input.Url) ? null : input.Url.Trim();
        if (url is not null && !IsHttpUrl(url)) v.Add(F("url"), "Give an absolute http(s) URL.");
        var image = string.IsNullOrWhiteSpace(input.ImageUrl) ? null : input.ImageUrl.Trim();
        if (image is not null && !IsHttpUrl(image)) v.Add(F("imageUrl"), "Give an absolute http(s) URL.");
        if (image is not null && input.MediaId is not null) v.Add(F("imageUrl"), "Give either imageUrl or mediaId, not both.");
        return new Normalized(sku, name, input.Price, currency, url, image, input.MediaId);
    }

    private static bool IsHttpUrl(string s) =>
        s.Length <= 2000 && Uri.TryCreate(s, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps);
}
