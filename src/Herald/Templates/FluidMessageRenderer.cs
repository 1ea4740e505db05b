using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
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
/// template is immutable and renders concurrently. Per message the scope holds only the top-level values the
/// message's sources name (<see cref="ReadNames"/>): <c>contact.*</c> made field by field as the template reads them (no
/// reflection), and the run's values made once per compiled message (<c>campaign</c>, <c>workspace</c>, <c>product</c>).
/// Seed-style placeholders from older tools are rewritten before parsing (see <see cref="Aliases"/>). Registered as a singleton.
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
        var reads = new ReadNames();
        CompiledMessage? compiled = channel switch
        {
            ChannelNames.Email when content.Email is { } e => new CompiledMessage(this, channel)
            {
                Subject = Parse(e.Subject, "email.subject", v, reads),
                Html = Parse(e.Html, "email.html", v, reads),
                Text = Parse(e.Text, "email.text", v, reads),
            },
            ChannelNames.Sms when content.Sms is { } s => new CompiledMessage(this, channel) { Body = Parse(s.Body, "sms.body", v, reads) },
            ChannelNames.WhatsApp when content.Whatsapp is { } w => new CompiledMessage(this, channel)
            {
                TemplateName = w.TemplateName,
                Language = w.Language,
                Parameters = w.Parameters?.Select((p, i) => Parse(p, $"whatsapp.parameters[{i}]", v, reads)).ToArray(),
                Body = Parse(w.Text, "whatsapp.text", v, reads),
                MediaUrl = Parse(w.Media?.Url, "whatsapp.media.url", v, reads),
                MediaType = w.Media?.Type,
            },
            ChannelNames.Push when content.Push is { } p => new CompiledMessage(this, channel)
            {
                Title = Parse(p.Title, "push.title", v, reads),
                Body = Parse(p.Body, "push.body", v, reads),
                Url = Parse(p.Url, "push.url", v, reads),
                Icon = Parse(p.Icon, "push.icon", v, reads),
            },
            ChannelNames.Webhook when content.Webhook is { } h => new CompiledMessage(this, channel)
            {
                Url = Parse(h.Url, "webhook.url", v, reads),
                Body = Parse(h.Body, "webhook.body", v, reads),
            },
            _ => null,
        };
        if (compiled is null)
            v.Add(channel, ChannelNames.IsKnown(channel) ? $"No {channel} content to render." : $"Unknown channel '{channel}'.");
        v.ThrowIfInvalid();
        compiled!.Reads = reads.Found;
        return compiled;
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

    private IFluidTemplate? Parse(string? source, string field, Validation v, ReadNames reads)
    {
        if (string.IsNullOrEmpty(source)) return null;
        var text = Aliases(source);
        reads.Look(text);
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

    private TemplateContext NewContext(RenderScope scope, RunWide runWide, TopLevel reads, IReadOnlyList<string>? positional)
    {
        var c = scope.Contact;
        var ctx = new TemplateContext(_options);
        var fullName = (reads & (TopLevel.Contact | TopLevel.Name | TopLevel.FullName | TopLevel.CustomerName)) != 0 ? FullName(c) : null;
        if ((reads & TopLevel.Contact) != 0) ctx.SetValue("contact", new DictionaryValue(new ContactFields(c, fullName, _options)));
        if ((reads & TopLevel.Campaign) != 0) ctx.SetValue("campaign", runWide.Campaign);
        if ((reads & TopLevel.Workspace) != 0) ctx.SetValue("workspace", runWide.Workspace);
        if ((reads & TopLevel.UnsubscribeUrl) != 0) ctx.SetValue("unsubscribeUrl", Str(scope.UnsubscribeUrl));
        if ((reads & TopLevel.Product) != 0) ctx.SetValue("product", runWide.Product);
        if ((reads & TopLevel.Data) != 0) ctx.SetValue("data", scope.Data is null ? NilValue.Instance : FluidValue.Create(scope.Data, _options));

        // Aliases from older tools (the same values under their old names).
        if ((reads & (TopLevel.Name | TopLevel.FullName | TopLevel.CustomerName)) != 0)
        {
            var name = Str(fullName);
            ctx.SetValue("name", name);
            ctx.SetValue("fullName", name);
            ctx.SetValue("customerName", name);
        }
        if ((reads & TopLevel.FirstName) != 0) ctx.SetValue("firstName", Str(c.FirstName));
        if ((reads & TopLevel.LastName) != 0) ctx.SetValue("lastName", Str(c.LastName));
        if ((reads & TopLevel.Phone) != 0) ctx.SetValue("phone", Str(c.Phone));
        if ((reads & TopLevel.Email) != 0) ctx.SetValue("email", Str(c.Email));
        if ((reads & TopLevel.CompanyName) != 0) ctx.SetValue("companyName", runWide.CompanyName);
        if (positional is not null) ctx.SetValue("hx_positional", FluidValue.Create(positional, _options));

        // Preview data may also name top-level values directly ({"firstName": "Asha"} fills {{ firstName }}).
        if (scope.Data is not null)
            foreach (var (k, val) in scope.Data)
                if (val is not null && k is not ("contact" or "campaign" or "workspace" or "data")) ctx.SetValue(k, FluidValue.Create(val, _options));
        return ctx;
    }

    /// <summary>The values a message's scope can offer at the top level, one bit each.</summary>
    [Flags]
    private enum TopLevel
    {
        Contact = 1 << 0, Campaign = 1 << 1, Workspace = 1 << 2, UnsubscribeUrl = 1 << 3, Product = 1 << 4, Data = 1 << 5,
        Name = 1 << 6, FullName = 1 << 7, CustomerName = 1 << 8, FirstName = 1 << 9, LastName = 1 << 10, Phone = 1 << 11,
        Email = 1 << 12, CompanyName = 1 << 13,
    }

    /// <summary>
    /// Which top-level values a message's templates can read, so each render puts only those in its scope (a typical
    /// email reads about half of the fourteen, and fewer entries spare the scope's dictionary a resize). Liquid reaches a
    /// top-level value only by writing its name in the source (an output, a tag's or a filter's argument) and the scope
    /// matches names ignoring case, so a name that occurs nowhere in any of the message's sources, in any case, cannot be
    /// read. One that occurs anywhere, even inside another word or in plain text, is offered as before.
    /// </summary>
    private sealed class ReadNames
    {
        private static readonly (string Name, TopLevel Bit)[] All =
        [
            ("contact", TopLevel.Contact), ("campaign", TopLevel.Campaign), ("workspace", TopLevel.Workspace),
            ("unsubscribeUrl", TopLevel.UnsubscribeUrl), ("product", TopLevel.Product), ("data", TopLevel.Data), ("name", TopLevel.Name),
            ("fullName", TopLevel.FullName), ("customerName", TopLevel.CustomerName), ("firstName", TopLevel.FirstName),
            ("lastName", TopLevel.LastName), ("phone", TopLevel.Phone), ("email", TopLevel.Email), ("companyName", TopLevel.CompanyName),
        ];

        public TopLevel Found { get; private set; }

        public void Look(string source)
        {
            foreach (var (name, bit) in All)
                if (source.Contains(name, StringComparison.OrdinalIgnoreCase)) Found |= bit;
        }
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
        public TopLevel Reads;
        private RunWide? _runWide;

        public RenderedMessage Render(RenderScope scope)
        {
            var runWide = Volatile.Read(ref _runWide);
            if (runWide is null || !runWide.Serves(scope)) Volatile.Write(ref _runWide, runWide = owner.MakeRunWide(scope));
            // WhatsApp parameters render first: positional {{1}}..{{n}} in the text mean them.
            string[]? parameters = null;
            if (Parameters is not null)
            {
                var pctx = owner.NewContext(scope, runWide, Reads, null);
                parameters = new string[Parameters.Length];
                for (var i = 0; i < Parameters.Length; i++) parameters[i] = Run(Parameters[i], pctx, NullEncoder.Default) ?? "";
            }
            var ctx = owner.NewContext(scope, runWide, Reads, parameters);
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

        /// <summary>
        /// What <c>t.Render(ctx, encoder)</c> does (each part in its own child scope, so an <c>assign</c> in the subject
        /// is not seen by the body), into a writer kept per thread instead of a new writer and pooled builder per part.
        /// </summary>
        private static string? Run(IFluidTemplate? t, TemplateContext ctx, TextEncoder encoder)
        {
            if (t is null) return null;
            var writer = _writer ?? new StringWriter(new StringBuilder(1024));
            _writer = null; // taken while in use
            var sb = writer.GetStringBuilder();
            sb.Clear();
            ctx.EnterChildScope();
            try
            {
                var rendering = t.RenderAsync(writer, encoder, ctx);
                if (!rendering.IsCompletedSuccessfully) rendering.AsTask().GetAwaiter().GetResult();
                return sb.ToString();
            }
            finally
            {
                ctx.ReleaseScope();
                if (sb.Capacity <= MaxKeptWriterChars) _writer = writer;
            }
        }

        /// <summary>A thread's writer is kept while its buffer is at most this big (an outsized message's is let go).</summary>
        private const int MaxKeptWriterChars = 256 * 1024;

        [ThreadStatic] private static StringWriter? _writer;
    }
}
