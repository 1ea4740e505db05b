using System.Text.Json;
using Herald.Common;

namespace Herald.Audience;

/// <summary>
/// Who a campaign goes to: the union of the includes minus the excludes (API.md, Audience).
/// <c>recipients</c> are upserted as contacts when the campaign is saved.
/// </summary>
public sealed class AudienceDefinition
{
    public List<long>? SegmentIds { get; set; }
    public List<long>? ListIds { get; set; }
    public List<long>? ContactIds { get; set; }
    /// <summary>A filter tree or shorthand (API.md, Filter).</summary>
    public JsonElement? Filter { get; set; }
    public List<long>? ExcludeSegmentIds { get; set; }
    public List<AdHocRecipient>? Recipients { get; set; }
    public bool? All { get; set; }

    public bool IsEmpty =>
        SegmentIds is not { Count: > 0 } && ListIds is not { Count: > 0 } && ContactIds is not { Count: > 0 }
        && Filter is null or { ValueKind: JsonValueKind.Undefined or JsonValueKind.Null }
        && Recipients is not { Count: > 0 } && All != true;
}

public sealed class AdHocRecipient
{
    public string? Name { get; set; }
    public string? Email { get; set; }
    public string? Phone { get; set; }
}

/// <summary>A parameterized SQL fragment: a SELECT whose only column is <c>id</c> of matching live contacts.</summary>
public sealed record SqlFragment(string Sql, IReadOnlyList<KeyValuePair<string, object?>> Parameters);

/// <summary>
/// Compiles an audience to SQL for the provider in use, so run start can materialize it with one
/// <c>INSERT ... SELECT</c> and preview can count it. Parameter names are prefixed <c>@a</c>; callers
/// use other prefixes.
/// </summary>
public interface IAudienceQuery
{
    /// <summary>Checks the definition (filter syntax, referenced segments and lists exist in the workspace).</summary>
    Task<Validation> ValidateAsync(long workspaceId, AudienceDefinition audience, CancellationToken ct);

    /// <summary>SELECT id FROM contact ... for the definition (deleted contacts excluded).</summary>
    Task<SqlFragment> CompileAsync(long workspaceId, AudienceDefinition audience, CancellationToken ct);
}
