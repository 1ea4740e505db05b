using System.Text.Json;
using System.Text.Json.Serialization;

namespace Herald.Common;

/// <summary>
/// JSON settings shared by the API and stored documents: camelCase, enums as camelCase strings,
/// and unknown properties in request bodies rejected (400 naming the property) so a typo never
/// silently drops a setting.
/// </summary>
public static class HeraldJson
{
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions o)
    {
        o.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        o.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        o.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        return o;
    }
}
