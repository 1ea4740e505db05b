using System.Text.Json;
using Herald.Auth;
using Herald.Channels;
using Herald.Common;

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

/// <summary>/api/v1/templates: CRUD and preview rendering (the rules live in <see cref="TemplateService"/>).</summary>
public static class TemplatesApi
{
    /// <summary>Registers the renderer (a singleton: its compiled-template cache is shared by all runs) and the service.</summary>
    public static IServiceCollection AddHeraldTemplates(this IServiceCollection services)
    {
        services.AddSingleton<FluidMessageRenderer>();
        services.AddSingleton<IMessageRenderer>(sp => sp.GetRequiredService<FluidMessageRenderer>());
        services.AddScoped<TemplateService>();
        return services;
    }

    public static void MapTemplatesApi(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/v1/templates").WithTags("Templates");

        g.MapPost("/", async (HttpContext http, TemplateInput input, TemplateService svc, CancellationToken ct) =>
        {
            var t = await svc.CreateAsync(http.Current(), input, ct);
            return TypedResults.Created($"/api/v1/templates/{t.Id}", t);
        }).RequireRole(Role.Editor);

        g.MapGet("/", async (HttpContext http, string? channel, string? q, int? page, int? limit, TemplateService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.ListAsync(http.Current(), channel, q, PageRequest.From(page, limit), ct))).RequireRole(Role.Viewer);

        g.MapGet("/{id:long}", async (HttpContext http, long id, TemplateService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.GetAsync(http.Current(), id, ct))).RequireRole(Role.Viewer);

        g.MapPut("/{id:long}", async (HttpContext http, long id, TemplateInput input, TemplateService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.UpdateAsync(http.Current(), id, input, ct))).RequireRole(Role.Editor);

        g.MapDelete("/{id:long}", async (HttpContext http, long id, TemplateService svc, CancellationToken ct) =>
        {
            await svc.DeleteAsync(http.Current(), id, ct);
            return TypedResults.NoContent();
        }).RequireRole(Role.Editor);

        g.MapPost("/{id:long}/render", async (HttpContext http, long id, RenderInput input, TemplateService svc, CancellationToken ct) =>
            TypedResults.Ok(await svc.RenderAsync(http.Current(), id, input, ct))).RequireRole(Role.Viewer);
    }

    internal static string Serialize(ChannelContent c) => JsonSerializer.Serialize(c, StoredJson);

    /// <summary>Stored documents leave out nulls (smaller rows; reading fills them back).</summary>
    internal static readonly JsonSerializerOptions StoredJson = new(HeraldJson.Options) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
}
