using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Text.Unicode;
using Fluid;
using Fluid.Values;
using Herald.Channels;
using Herald.Common;
using Herald.Contacts;

namespace Herald.Templates;

/// <summary>
/// <see cref="IMessageRenderer"/> on Fluid (Liquid). Each field's source is parsed once and kept in a
/// process-wide cache keyed by its text, so a run compiles once and every message only renders. A parsed
/// template is immutable and renders concurrently. Per message the scope holds the contact's own values
/// (<c>contact.*</c> made field by field as the template reads them, no reflection) and the run's values made once per
/// compiled message (<c>campaign</c>, <c>workspace</c>, <c>product</c>). Seed-style placeholders from older tools are rewritten before parsing (see <see cref="Aliases"/>).
/// Registered as a singleton.
/// </summary>
public sealed partial class FluidMessageRenderer : IMessageRenderer
{
    /// <summary>Largest number of distinct field sources kept parsed; the cache starts over when full.</summary>
    public const int MaxCachedTemplates = 10_000;

    private static readonly FluidParser Parser = new();
    private readonly ConcurrentDictionary<string, IFluidTemplate> _cache = new(StringComparer.Ordinal);
    private readonly TemplateOptions _options;
    private static readonly TextEncoder Html = HtmlEncoder.Create(UnicodeRanges.All);

    public FluidMessageRenderer()
    {
        _options = new TemplateOptions { CultureInfo = CultureInfo.InvariantCulture, MaxRecursion = 20, MaxSteps = 1_000_000 };
    }

    public ICompiledMessage Compile(string channel, ChannelContent content)
    {
        var v = new Validation();
        CompiledMessage? compiled = channel switch
        {
            ChannelNames.Email when content.Email is { } e => new CompiledMessage(this, channel)
            {
                Subject = Parse(e.Subject, "email.subject", v),
                Html = Parse(e.Html, "email.html", v),
                Text = Parse(e.Text, "email.text", v),
            },
            ChannelNames.Sms when content.Sms is { } s => new CompiledMessage(this, channel) { Body = Parse(s.Body, "sms.body", v) },
            ChannelNames.WhatsApp when content.Whatsapp is { } w => new CompiledMessage(this, channel)
            {
                TemplateName = w.TemplateName,
                Language = w.Language,
                Parameters = w.Parameters?.Select((p, i) => Parse(p, $"whatsapp.parameters[{i}]", v)).ToArray(),
                Body = Parse(w.Text, "whatsapp.text", v),
                MediaUrl = Parse(w.Media?.Url, "whatsapp.media.url", v),
                MediaType = w.Media?.Type,
            },
            ChannelNames.Push when content.Push is { } p => new CompiledMessage(this, channel)
            {
                Title = Parse(p.Title, "push.title", v),
                Body = Parse(p.Body, "push.body", v),
                Url = Parse(p.Url, "push.url", v),
                Icon = Parse(p.Icon, "push.icon", v),
            },
            ChannelNames.Webhook when content.Webhook is { } h => new CompiledMessage(this, channel)
            {
                Url = Parse(h.Url, "webhook.url", v),
                Body = Parse(h.Body, "webhook.body", v),
            },
            _ => null,
        };
        if (compiled is null)
            v.Add(channel, ChannelNames.IsKnown(channel) ? $"No {channel} content to render." : $"Unknown channel '{channel}'.");
        v.ThrowIfInvalid();
        return compiled!;
    }

    /// <summary>Checks every field of <paramref name="content"/> for <paramref name="channel"/>, adding syntax errors to <paramref name="v"/> under <paramref name="prefix"/>.</summary>
    public void Validate(string channel, ChannelContent content, Validation v, string prefix)
    {
        try { Compile(channel, content); }
        catch (ValidationFailedException e)
        {
            foreach (var (field, messages) in e.Errors)
                foreach (var m in messages) v.Add(string.IsNullOrEmpty(prefix) ? field : $"{prefix}.{field}", m);
        }
    }

    private IFluidTemplate? Parse(string? source, string field, Validation v)
    {
        if (string.IsNullOrEmpty(source)) return null;
        var text = Aliases(source);
        if (_cache.TryGetValue(text, out var cached)) return cached;
        if (!Parser.TryParse(text, out var template, out var error))
        {
            v.Add(field, Describe(error, source));
            return null;
        }
        if (_cache.Count >= MaxCachedTemplates) _cache.Clear();
        return _cache.GetOrAdd(text, template);
    }

    /// <summary>Fluid reports "... at (line:column)"; answer with the same position in words.</summary>
    private static string Describe(string error, string source)
    {
        var m = PositionPattern().Match(error);
        var message = PositionPattern().Replace(error, "").Trim().TrimEnd('.', ',');
        if (!m.Success) return $"Template syntax error: {message}.";
        return $"Template syntax error at line {m.Groups[1].Value}, column {m.Groups[2].Value}: {message}.";
    }

    [GeneratedRegex(@"\s*(?:at\s*)?\((\d+):(\d+)\)")]
    private static partial Regex PositionPattern();

    /// <summary>
    /// Placeholders older tools wrote, rewritten to Liquid that means the same: <c>{name}</c> (single braces,
    /// only for the known names so CSS and JSON stay untouched) and positional <c>{{1}}</c> (the first
    /// WhatsApp parameter). <c>{{name}}</c>, <c>{{firstName}}</c>, <c>{{customerName}}</c>, <c>{{companyName}}</c>
    /// need no rewrite: they are top-level values of the scope.
    /// </summary>
    internal static string Aliases(string source)
    {
        if (source.IndexOf('{') < 0) return source;
        source = SingleBrace().Replace(source, "{{ $1 }}");
        return Positional().Replace(source, m => "{{ hx_positional[" + (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) - 1) + "] }}");
    }

    [GeneratedRegex(@"(?<![{%])\{\s*(name|firstName|lastName|fullName|phone|email|customerName|companyName|unsubscribeUrl|(?:contact|campaign|workspace|product|data)\.[A-Za-z0-9_.]+)\s*\}(?!\})")]
    private static partial Regex SingleBrace();

    [GeneratedRegex(@"\{\{\s*([1-9][0-9]?)\s*\}\}")]
    private static partial Regex Positional();

    private TemplateContext NewContext(RenderScope scope, RunWide runWide, IReadOnlyList<string>? positional)
    {
        var c = scope.Contact;
        var ctx = new TemplateContext(_options);
        var fullName = FullName(c);
        ctx.SetValue("contact", new DictionaryValue(new ContactFields(c, fullName, _options)));
        ctx.SetValue("campaign", runWide.Campaign);
        ctx.SetValue("workspace", runWide.Workspace);
        ctx.SetValue("unsubscribeUrl", Str(scope.UnsubscribeUrl));
        ctx.SetValue("product", runWide.Product);
        ctx.SetValue("data", scope.Data is null ? NilValue.Instance : FluidValue.Create(scope.Data, _options));

        // Aliases from older tools (the same values under their old names).
        var name = Str(fullName);
        ctx.SetValue("name", name);
        ctx.SetValue("fullName", name);
        ctx.SetValue("customerName", name);
        ctx.SetValue("firstName", Str(c.FirstName));
        ctx.SetValue("lastName", Str(c.LastName));
        ctx.SetValue("phone", Str(c.Phone));
        ctx.SetValue("email", Str(c.Email));
        ctx.SetValue("companyName", runWide.CompanyName);
        if (positional is not null) ctx.SetValue("hx_positional", FluidValue.Create(positional, _options));

        // Preview data may also name top-level values directly ({"firstName": "Asha"} fills {{ firstName }}).
        if (scope.Data is not null)
            foreach (var (k, val) in scope.Data)
                if (val is not null && k is not ("contact" or "campaign" or "workspace" or "data")) ctx.SetValue(k, FluidValue.Create(val, _options));
        return ctx;
    }

    /// <summary>
    /// The values every message of a run shares (<c>campaign</c>, <c>workspace</c>, <c>companyName</c>, <c>product</c>), made
    /// once and reused while the scope names the same ones: Fluid values are immutable, so renders on any thread can share them.
    /// </summary>
    private sealed class RunWide
    {
        public required string WorkspaceName { get; init; }
        public required long? CampaignId { get; init; }
        public required string? CampaignName { get; init; }
        public required IReadOnlyDictionary<string, object?>? ProductSource { get; init; }
        public required FluidValue Campaign { get; init; }
        public required FluidValue Workspace { get; init; }
        public required FluidValue CompanyName { get; init; }
        public required FluidValue Product { get; init; }

        public bool Serves(RenderScope s) =>
            s.WorkspaceName == WorkspaceName && s.CampaignId == CampaignId && s.CampaignName == CampaignName && ReferenceEquals(s.Product, ProductSource);
    }

    private RunWide MakeRunWide(RenderScope scope) => new()
    {
        WorkspaceName = scope.WorkspaceName,
        CampaignId = scope.CampaignId,
        CampaignName = scope.CampaignName,
        ProductSource = scope.Product,
        Campaign = FluidValue.Create(new Dictionary<string, object?>
        {
            ["id"] = scope.CampaignId?.ToString(CultureInfo.InvariantCulture),
            ["name"] = scope.CampaignName,
        }, _options),
        Workspace = FluidValue.Create(new Dictionary<string, object?> { ["name"] = scope.WorkspaceName }, _options),
        CompanyName = Str(scope.WorkspaceName),
        Product = scope.Product is null ? NilValue.Instance : FluidValue.Create(scope.Product, _options),
    };

    /// <summary>
    /// <c>contact.*</c>: the same keys, order and values as a dictionary of the contact's fields would give, each made only
    /// when a template reads it. A typical message reads one or two fields; the attributes JSON is parsed only when
    /// <c>contact.attributes</c> is read (or the whole contact is enumerated), and then once per render.
    /// </summary>
    private sealed class ContactFields(Contact c, string? fullName, TemplateOptions options) : IFluidIndexable
    {
        private static readonly string[] Names =
        [
            "id", "externalId", "email", "phone", "firstName", "lastName", "name", "fullName", "locale", "timezone", "city", "region",
            "country", "lifecycle", "tags", "attributes", "totalOrders", "totalSpent", "lastOrderAt", "engagementScore", "rfmSegment", "createdAt",
        ];

        private object? _attributes;
        private bool _attributesParsed;

        public int Count => Names.Length;
        public IEnumerable<string> Keys => Names;

        public bool TryGetValue(string name, out FluidValue value)
        {
            object? raw;
            switch (name)
            {
                case "id": raw = c.Id == 0 ? null : c.Id.ToString(CultureInfo.InvariantCulture); break;
                case "externalId": raw = c.ExternalId; break;
                case "email": raw = c.Email; break;
                case "phone": raw = c.Phone; break;
                case "firstName": raw = c.FirstName; break;
                case "lastName": raw = c.LastName; break;
                case "name" or "fullName": raw = fullName; break;
                case "locale": raw = c.Locale; break;
                case "timezone": raw = c.Timezone; break;
                case "city": raw = c.City; break;
                case "region": raw = c.Region; break;
                case "country": raw = c.Country; break;
                case "lifecycle": raw = c.Lifecycle; break;
                case "tags": raw = c.Tags; break;
                case "attributes":
                    if (!_attributesParsed)
                    {
                        _attributes = ParseAttributes(c.Attributes);
                        _attributesParsed = true;
                    }
                    raw = _attributes;
                    break;
                case "totalOrders": raw = c.TotalOrders; break;
                case "totalSpent": raw = c.TotalSpent; break;
                case "lastOrderAt": raw = c.LastOrderAt; break;
                case "engagementScore": raw = c.EngagementScore; break;
                case "rfmSegment": raw = c.RfmSegment; break;
                case "createdAt": raw = c.CreatedAt == default ? null : c.CreatedAt; break;
                default:
                    value = NilValue.Instance;
                    return false;
            }
            value = FluidValue.Create(raw, options);
            return true;
        }
    }

    private static FluidValue Str(string? s) => s is null ? NilValue.Instance : new StringValue(s);

    private static string? FullName(Contact c)
    {
        var n = $"{c.FirstName} {c.LastName}".Trim();
        return n.Length == 0 ? null : n;
    }

    private static object? ParseAttributes(string? json)
    {
        if (string.IsNullOrEmpty(json) || json == "{}") return new Dictionary<string, object?>();
        try
        {
            using var doc = JsonDocument.Parse(json);
            return FromJson(doc.RootElement);
        }
        catch (JsonException)
        {
            return new Dictionary<string, object?>();
        }
    }

    /// <summary>Turns JSON into plain dictionaries, lists and scalars Fluid understands.</summary>
    public static object? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().ToDictionary(p => p.Name, p => FromJson(p.Value), StringComparer.Ordinal),
        JsonValueKind.Array => e.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out var l) ? l : e.GetDecimal(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    private sealed class CompiledMessage(FluidMessageRenderer owner, string channel) : ICompiledMessage
    {
        public IFluidTemplate? Subject, Html, Text, Body, Title, Url, Icon, MediaUrl;
        public IFluidTemplate?[]? Parameters;
        public string? TemplateName, Language, MediaType;
        private RunWide? _runWide;

        public RenderedMessage Render(RenderScope scope)
        {
            var runWide = Volatile.Read(ref _runWide);
            if (runWide is null || !runWide.Serves(scope)) Volatile.Write(ref _runWide, runWide = owner.MakeRunWide(scope));
            // WhatsApp parameters render first: positional {{1}}..{{n}} in the text mean them.
            string[]? parameters = null;
            if (Parameters is not null)
            {
                var pctx = owner.NewContext(scope, runWide, null);
                parameters = new string[Parameters.Length];
                for (var i = 0; i < Parameters.Length; i++) parameters[i] = Run(Parameters[i], pctx, NullEncoder.Default) ?? "";
            }
            var ctx = owner.NewContext(scope, runWide, parameters);
            return new RenderedMessage
            {
                Subject = Run(Subject, ctx, NullEncoder.Default),
                Html = Run(Html, ctx, FluidMessageRenderer.Html),
                Text = Run(Text, ctx, NullEncoder.Default),
                Body = Run(Body, ctx, channel == ChannelNames.Webhook ? JavaScriptEncoder.UnsafeRelaxedJsonEscaping : NullEncoder.Default),
                Title = Run(Title, ctx, NullEncoder.Default),
                Url = Run(Url, ctx, NullEncoder.Default),
                Icon = Run(Icon, ctx, NullEncoder.Default),
                TemplateName = TemplateName,
                Language = Language,
                Parameters = parameters,
                MediaUrl = Run(MediaUrl, ctx, NullEncoder.Default),
                MediaType = MediaType,
                UnsubscribeUrl = scope.UnsubscribeUrl,
            };
        }

        private static string? Run(IFluidTemplate? t, TemplateContext ctx, TextEncoder encoder) => t?.Render(ctx, encoder);
    }
}
