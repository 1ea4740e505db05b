using Herald.Channels;
using Herald.Contacts;

namespace Herald.Templates;

/// <summary>
/// Compiles user content (Liquid) once and renders it per recipient. Implemented with Fluid by the
/// templates feature; used by the template preview API, delivery workers (compile once per run,
/// render per message) and journeys.
/// </summary>
public interface IMessageRenderer
{
    /// <summary>
    /// Parses the content for <paramref name="channel"/>. Throws <see cref="Common.ValidationFailedException"/>
    /// naming the field (e.g. <c>email.html</c>) with line and column on a syntax error.
    /// </summary>
    ICompiledMessage Compile(string channel, ChannelContent content);
}

/// <summary>Content parsed once; thread-safe to render concurrently.</summary>
public interface ICompiledMessage
{
    RenderedMessage Render(RenderScope scope);
}

/// <summary>
/// What a template can see: <c>contact.*</c>, <c>campaign.*</c>, <c>workspace.*</c>/<c>companyName</c>,
/// <c>unsubscribeUrl</c>, <c>product.*</c>, plus free <c>data</c> for previews.
/// </summary>
public sealed record RenderScope(
    Contact Contact,
    string WorkspaceName,
    long? CampaignId = null,
    string? CampaignName = null,
    string? UnsubscribeUrl = null,
    IReadOnlyDictionary<string, object?>? Product = null,
    IReadOnlyDictionary<string, object?>? Data = null);
