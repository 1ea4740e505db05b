using System.Text.Json;
using Herald.Audit;
using Herald.Auth;
using Herald.Channels;
using Herald.Common;
using Herald.Contacts;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;

namespace Herald.Templates;

/// <summary>Body of POST/PUT /api/v1/templates: the name, the channel and that channel's content.</summary>
public sealed class TemplateInput
{
    public string? Name { get; set; }
    public string? Channel { get; set; }
    public EmailContent? Email { get; set; }
    public SmsContent? Sms { get; set; }
    public WhatsAppContent? Whatsapp { get; set; }
    public PushContent? Push { get; set; }
    public WebhookContent? Webhook { get; set; }

    public ChannelContent Content() => new() { Email = Email, Sms = Sms, Whatsapp = Whatsapp, Push = Push, Webhook = Webhook };
}

public sealed record TemplateDto(string Id, string Name, string Channel, EmailContent? Email, SmsContent? Sms, WhatsAppContent? Whatsapp,
    PushContent? Push, WebhookContent? Webhook, string CreatedBy, DateTime CreatedAt, DateTime UpdatedAt)
{
    public static TemplateDto From(Template t)
    {
        var c = JsonSerializer.Deserialize<ChannelContent>(t.Content, HeraldJson.Options) ?? new ChannelContent();
        return new TemplateDto(t.Id.ToString(), t.Name, t.Channel, c.Email, c.Sms, c.Whatsapp, c.Push, c.Webhook, t.CreatedBy, t.CreatedAt, t.UpdatedAt);
    }
}

/// <summary>Body of POST /api/v1/templates/{id}/render: a contact of the workspace, or sample data, or both.</summary>
public sealed class RenderInput
{
    public long? ContactId { get; set; }
    public JsonElement? Data { get; set; }
}

public sealed record RenderPreviewDto(string Channel, RenderedMessage Rendered);

/// <summary>/api/v1/templates: CRUD and preview rendering.</summary>
public static class TemplatesApi
{
    /// <summary>Registers the renderer (a singleton: its compiled-template cache is shared by all runs).</summary>
    public static IServiceCollection AddHeraldTemplates(this IServiceCollection services)
    {
        services.AddSingleton<FluidMessageRenderer>();
        services.AddSingleton<IMessageRenderer>(sp => sp.GetRequiredService<FluidMessageRenderer>());
        return services;
    }

    public static void MapTemplatesApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/v1/templates").WithTags("Templates");

        g.MapPost("/", async (HttpContext http, TemplateInput input, HeraldDb db, AuditLog audit, FluidMessageRenderer renderer, TimeProvider clock, CancellationToken ct) =>
        {
            var caller = http.Current();
            var (name, channel, content) = Check(input, renderer);
            var now = clock.GetUtcNow().UtcDateTime;
            var t = new Template { WorkspaceId = caller.WorkspaceId, Name = name, Channel = channel, Content = Serialize(content), CreatedBy = caller.Actor, CreatedAt = now, UpdatedAt = now };
            db.Set<Template>().Add(t);
            await db.SaveChangesAsync(ct);
            audit.Record(caller, "template.create", "template", t.Id, new { t.Name, t.Channel });
            await db.SaveChangesAsync(ct);
            return TypedResults.Created($"/api/v1/templates/{t.Id}", TemplateDto.From(t));
        }).RequireRole(Role.Editor);

        g.MapGet("/", async (HttpContext http, string? channel, string? q, int? page, int? limit, HeraldDb db, CancellationToken ct) =>
        {
            var caller = http.Current();
            var p = PageRequest.From(page, limit);
            var query = db.Set<Template>().AsNoTracking().Where(t => t.WorkspaceId == caller.WorkspaceId);
            if (!string.IsNullOrEmpty(channel)) query = query.Where(t => t.Channel == channel);
            if (!string.IsNullOrEmpty(q)) query = query.Where(t => t.Name.Contains(q));
            var total = await query.LongCountAsync(ct);
            var rows = await query.OrderByDescending(t => t.Id).Skip(p.Skip).Take(p.Limit).ToListAsync(ct);
            return TypedResults.Ok(new Paged<TemplateDto>(rows.Select(TemplateDto.From).ToList(), total, p.Page, p.Limit));
        }).RequireRole(Role.Viewer);

        g.MapGet("/{id:long}", async (HttpContext http, long id, HeraldDb db, CancellationToken ct) =>
            TypedResults.Ok(TemplateDto.From(await FindAsync(db, http.Current(), id, ct)))).RequireRole(Role.Viewer);

        g.MapPut("/{id:long}", async (HttpContext http, long id, TemplateInput input, HeraldDb db, AuditLog audit, FluidMessageRenderer renderer, TimeProvider clock, CancellationToken ct) =>
        {
            var caller = http.Current();
            var t = await FindAsync(db, caller, id, ct);
            var (name, channel, content) = Check(input, renderer);
            t.Name = name;
            t.Channel = channel;
            t.Content = Serialize(content);
            t.UpdatedAt = clock.GetUtcNow().UtcDateTime;
            audit.Record(caller, "template.update", "template", t.Id);
            await db.SaveChangesAsync(ct);
            return TypedResults.Ok(TemplateDto.From(t));
        }).RequireRole(Role.Editor);

        g.MapDelete("/{id:long}", async (HttpContext http, long id, HeraldDb db, AuditLog audit, CancellationToken ct) =>
        {
            var caller = http.Current();
            var t = await FindAsync(db, caller, id, ct);
            var usedBy = await db.Set<Campaigns.Campaign>().Where(c => c.WorkspaceId == caller.WorkspaceId && c.TemplateId == id)
                .Select(c => c.Id).Take(5).ToListAsync(ct);
            if (usedBy.Count > 0)
                throw new ConflictException($"Template {id} is used by campaign(s) {string.Join(", ", usedBy)}; change them first.");
            db.Set<Template>().Remove(t);
            audit.Record(caller, "template.delete", "template", t.Id, new { t.Name });
            await db.SaveChangesAsync(ct);
            return TypedResults.NoContent();
        }).RequireRole(Role.Editor);

        g.MapPost("/{id:long}/render", async (HttpContext http, long id, RenderInput input, HeraldDb db, IMessageRenderer renderer, Microsoft.Extensions.Options.IOptions<Hosting.HeraldOptions> opts, CancellationToken ct) =>
        {
            var caller = http.Current();
            var t = await FindAsync(db, caller, id, ct);
            Contact contact = new() { WorkspaceId = caller.WorkspaceId, FirstName = null };
            if (input.ContactId is { } cid)
                contact = await db.Contacts.AsNoTracking().FirstOrDefaultAsync(c => c.Id == cid && c.WorkspaceId == caller.WorkspaceId && c.DeletedAt == null, ct)
                    ?? throw new NotFoundException($"Contact {cid}");
            Dictionary<string, object?>? data = null;
            if (input.Data is { ValueKind: JsonValueKind.Object } d) data = (Dictionary<string, object?>)FluidMessageRenderer.FromJson(d)!;
            else if (input.Data is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) })
                throw ValidationFailedException.For("data", "Give sample data as a JSON object.");
            if (data?.TryGetValue("contact", out var dc) == true && dc is Dictionary<string, object?> dcontact && input.ContactId is null)
                contact = SampleContact(caller.WorkspaceId, dcontact);
            var ws = await db.Workspaces.AsNoTracking().Where(w => w.Id == caller.WorkspaceId).Select(w => w.Name).FirstAsync(ct);
            var content = JsonSerializer.Deserialize<ChannelContent>(t.Content, HeraldJson.Options) ?? new ChannelContent();
            var compiled = renderer.Compile(t.Channel, content);
            var scope = new RenderScope(contact, ws, null, data?.GetValueOrDefault("campaignName") as string,
                $"{opts.Value.PublicBaseUrl.TrimEnd('/')}/u/preview", Data: data);
            return TypedResults.Ok(new RenderPreviewDto(t.Channel, compiled.Render(scope)));
        }).RequireRole(Role.Viewer);
    }

    private static Contact SampleContact(long ws, Dictionary<string, object?> d)
    {
        string? S(string k) => d.GetValueOrDefault(k)?.ToString();
        return new Contact
        {
            WorkspaceId = ws, FirstName = S("firstName"), LastName = S("lastName"), Email = S("email"), Phone = S("phone"), City = S("city"),
            Country = S("country"),
            Attributes = d.GetValueOrDefault("attributes") is { } a ? JsonSerializer.Serialize(a) : "{}",
        };
    }

    private static async Task<Template> FindAsync(HeraldDb db, Caller caller, long id, CancellationToken ct) =>
        await db.Set<Template>().FirstOrDefaultAsync(t => t.Id == id && t.WorkspaceId == caller.WorkspaceId, ct)
        ?? throw new NotFoundException($"Template {id}");

    private static (string Name, string Channel, ChannelContent Content) Check(TemplateInput input, FluidMessageRenderer renderer)
    {
        var v = new Validation();
        var name = input.Name?.Trim();
        if (string.IsNullOrEmpty(name)) v.Add("name", "Give the template a name.");
        else if (name.Length > 200) v.Add("name", "At most 200 characters.");
        var channel = input.Channel?.Trim().ToLowerInvariant();
        if (!ChannelNames.IsKnown(channel)) v.Add("channel", $"Give the channel: one of {string.Join(", ", ChannelNames.All)}.");
        var content = input.Content();
        if (v.IsValid) renderer.Validate(channel!, content, v, "");
        v.ThrowIfInvalid();
        // Keep only the template's own channel.
        var own = new ChannelContent();
        switch (channel)
        {
            case ChannelNames.Email: own.Email = content.Email; break;
            case ChannelNames.Sms: own.Sms = content.Sms; break;
            case ChannelNames.WhatsApp: own.Whatsapp = content.Whatsapp; break;
            case ChannelNames.Push: own.Push = content.Push; break;
            default: own.Webhook = content.Webhook; break;
        }
        return (name!, channel!, own);
    }

    internal static string Serialize(ChannelContent c) => JsonSerializer.Serialize(c, StoredJson);

    /// <summary>Stored documents leave out nulls (smaller rows; reading fills them back).</summary>
    internal static readonly JsonSerializerOptions StoredJson = new(HeraldJson.Options) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
}
