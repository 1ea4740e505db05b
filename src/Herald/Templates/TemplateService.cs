using System.Text.Json;
using Herald.Audit;
using Herald.Auth;
using Herald.Channels;
using Herald.Common;
using Herald.Contacts;
using Herald.Hosting;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Herald.Templates;

/// <summary>
/// Templates per workspace: validation (Liquid syntax with line and column), CRUD and preview rendering.
/// The API and the dashboard's editor both call it, so a template means the same wherever it is written.
/// </summary>
public sealed class TemplateService(HeraldDb db, AuditLog audit, FluidMessageRenderer renderer, TimeProvider clock, IOptions<HeraldOptions> herald)
{
    public async Task<Paged<TemplateDto>> ListAsync(Caller caller, string? channel, string? q, PageRequest p, CancellationToken ct)
    {
        var query = db.Set<Template>().AsNoTracking().Where(t => t.WorkspaceId == caller.WorkspaceId);
        if (!string.IsNullOrEmpty(channel)) query = query.Where(t => t.Channel == channel);
        if (!string.IsNullOrEmpty(q)) query = query.Where(t => t.Name.Contains(q));
        var total = await query.LongCountAsync(ct);
        var rows = await query.OrderByDescending(t => t.Id).Skip(p.Skip).Take(p.Limit).ToListAsync(ct);
        return new Paged<TemplateDto>(rows.Select(TemplateDto.From).ToList(), total, p.Page, p.Limit);
    }

    public async Task<TemplateDto> GetAsync(Caller caller, long id, CancellationToken ct) => TemplateDto.From(await FindAsync(caller, id, ct));

    public async Task<TemplateDto> CreateAsync(Caller caller, TemplateInput input, CancellationToken ct)
    {
        var (name, channel, content) = Check(input);
        var now = clock.GetUtcNow().UtcDateTime;
        var t = new Template { WorkspaceId = caller.WorkspaceId, Name = name, Channel = channel, Content = Serialize(content), CreatedBy = caller.Actor, CreatedAt = now, UpdatedAt = now };
        db.Set<Template>().Add(t);
        await db.SaveChangesAsync(ct);
        audit.Record(caller, "template.create", "template", t.Id, new { t.Name, t.Channel });
        await db.SaveChangesAsync(ct);
        return TemplateDto.From(t);
    }

    public async Task<TemplateDto> UpdateAsync(Caller caller, long id, TemplateInput input, CancellationToken ct)
    {
        var t = await FindAsync(caller, id, ct);
        var (name, channel, content) = Check(input);
        t.Name = name;
        t.Channel = channel;
        t.Content = Serialize(content);
        t.UpdatedAt = clock.GetUtcNow().UtcDateTime;
        audit.Record(caller, "template.update", "template", t.Id);
        await db.SaveChangesAsync(ct);
        return TemplateDto.From(t);
    }

    /// <summary>Deletes a template no campaign uses (409 naming the campaigns otherwise).</summary>
    public async Task DeleteAsync(Caller caller, long id, CancellationToken ct)
    {
        var t = await FindAsync(caller, id, ct);
        var usedBy = await db.Set<Campaigns.Campaign>().Where(c => c.WorkspaceId == caller.WorkspaceId && c.TemplateId == id)
            .Select(c => c.Id).Take(5).ToListAsync(ct);
        if (usedBy.Count > 0)
            throw new ConflictException($"Template {id} is used by campaign(s) {string.Join(", ", usedBy)}; change them first.");
        db.Set<Template>().Remove(t);
        audit.Record(caller, "template.delete", "template", t.Id, new { t.Name });
        await db.SaveChangesAsync(ct);
    }

    /// <summary>Renders a saved template for a contact of the workspace or sample data (POST /templates/{id}/render).</summary>
    public async Task<RenderPreviewDto> RenderAsync(Caller caller, long id, RenderInput input, CancellationToken ct)
    {
        var t = await FindAsync(caller, id, ct);
        var content = JsonSerializer.Deserialize<ChannelContent>(t.Content, HeraldJson.Options) ?? new ChannelContent();
        return await RenderContentAsync(caller, t.Channel, content, input, ct);
    }

    /// <summary>
    /// Renders content that is not saved yet (the editor's live preview) exactly as a saved template
    /// would render; a Liquid syntax error throws <see cref="ValidationFailedException"/> keyed by field
    /// (<c>email.html</c>) with line and column.
    /// </summary>
    public Task<RenderPreviewDto> PreviewAsync(Caller caller, string channel, ChannelContent content, RenderInput input, CancellationToken ct)
    {
        if (!ChannelNames.IsKnown(channel)) throw ValidationFailedException.For("channel", $"Give the channel: one of {string.Join(", ", ChannelNames.All)}.");
        return RenderContentAsync(caller, channel, content, input, ct);
    }

    private async Task<RenderPreviewDto> RenderContentAsync(Caller caller, string channel, ChannelContent content, RenderInput input, CancellationToken ct)
    {
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
        var compiled = renderer.Compile(channel, content);
        var scope = new RenderScope(contact, ws, null, data?.GetValueOrDefault("campaignName") as string,
            $"{herald.Value.PublicBaseUrl.TrimEnd('/')}/u/preview", Data: data);
        return new RenderPreviewDto(channel, compiled.Render(scope));
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

    private async Task<Template> FindAsync(Caller caller, long id, CancellationToken ct) =>
        await db.Set<Template>().FirstOrDefaultAsync(t => t.Id == id && t.WorkspaceId == caller.WorkspaceId, ct)
        ?? throw new NotFoundException($"Template {id}");

    private (string Name, string Channel, ChannelContent Content) Check(TemplateInput input)
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
        return (name!, channel!, OwnChannel(channel!, content));
    }

    /// <summary>Keeps only the part of <paramref name="content"/> for <paramref name="channel"/>.</summary>
    public static ChannelContent OwnChannel(string channel, ChannelContent content)
    {
        var own = new ChannelContent();
        switch (channel)
        {
            case ChannelNames.Email: own.Email = content.Email; break;
            case ChannelNames.Sms: own.Sms = content.Sms; break;
            case ChannelNames.WhatsApp: own.Whatsapp = content.Whatsapp; break;
            case ChannelNames.Push: own.Push = content.Push; break;
            default: own.Webhook = content.Webhook; break;
        }
        return own;
    }

    private static string Serialize(ChannelContent c) => TemplatesApi.Serialize(c);
}
