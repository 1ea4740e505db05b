using System.Text.Json;
using System.Text.Json.Nodes;
using Herald.Common;

namespace Herald.Channels;

/// <summary>
/// What /api/v1/channels needs to know about a provider besides building it: the channel it serves,
/// how its settings are validated, which settings are secrets, and how to check a connection.
/// Each provider's factory implements this next to <see cref="IChannelProviderFactory"/>.
/// </summary>
public interface IChannelProviderDefinition
{
    /// <summary>Provider name as stored in <see cref="ChannelConfig.Provider"/>.</summary>
    string Provider { get; }

    /// <summary>The channel this provider serves.</summary>
    string Channel { get; }

    /// <summary>Dotted paths of secret settings (write-only in the API).</summary>
    IReadOnlyList<string> SecretFields { get; }

    /// <summary>Validates settings JSON (errors keyed <c>settings.x</c>) and returns it normalized.</summary>
    string Validate(JsonElement settings);

    /// <summary>Checks the connection with these settings without sending a message.</summary>
    Task<ConnectionCheck> TestAsync(string settingsJson, CancellationToken ct);
}

/// <summary>Outcome of POST /api/v1/channels/{id}/test.</summary>
public sealed record ConnectionCheck(bool Ok, string Detail, long ElapsedMs = 0);

/// <summary>A provider's typed settings: they check themselves, errors keyed <c>settings.x</c>.</summary>
public interface IProviderSettings
{
    Validation Validate();
}

/// <summary>Reading provider settings JSON into typed records with the API's strictness.</summary>
public static class ProviderSettings
{
    /// <summary>What every factory's <see cref="IChannelProviderDefinition.Validate"/> does: parse strictly, validate (400 on errors), write back normalized.</summary>
    public static string Validate<T>(JsonElement settings) where T : class, IProviderSettings
    {
        var s = Parse<T>(settings);
        s.Validate().ThrowIfInvalid();
        return Write(s);
    }

    /// <summary>What a secret reads back as: bullets plus the last four characters of long secrets.</summary>
    public const string MaskPrefix = "••••";

    /// <summary>Deserializes settings, turning JSON errors (unknown or mistyped fields) into 400s under <c>settings</c>.</summary>
    public static T Parse<T>(JsonElement settings) where T : class
    {
        if (settings.ValueKind != JsonValueKind.Object) throw ValidationFailedException.For("settings", "Give the provider settings as an object.");
        try
        {
            return settings.Deserialize<T>(HeraldJson.Options) ?? throw ValidationFailedException.For("settings", "Give the provider settings.");
        }
        catch (JsonException e)
        {
            var path = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "settings" : "settings." + e.Path.TrimStart('$', '.');
            throw ValidationFailedException.For(path, e.Message.Split(" Path:")[0]);
        }
    }

    /// <summary>Reads stored (already validated) settings.</summary>
    public static T Read<T>(string settingsJson) where T : class =>
        JsonSerializer.Deserialize<T>(settingsJson, HeraldJson.Options) ?? throw new InvalidOperationException("Empty provider settings.");

    public static string Write<T>(T settings) => JsonSerializer.Serialize(settings, HeraldJson.Options);

    public static string Mask(string secret) =>
        secret.Length >= 12 ? MaskPrefix + secret[^4..] : MaskPrefix;

    public static bool IsMasked(string? value) => value is not null && value.StartsWith(MaskPrefix, StringComparison.Ordinal);

    /// <summary>Replaces every secret field with its mask.</summary>
    public static JsonObject MaskSecrets(JsonObject settings, IEnumerable<string> secretFields)
    {
        foreach (var path in secretFields)
            if (Find(settings, path) is { } parent && parent[Leaf(path)] is JsonValue v && v.TryGetValue<string>(out var s))
                parent[Leaf(path)] = Mask(s);
        return settings;
    }

    /// <summary>Where the client sent a mask back (PUT after GET), keeps the stored secret.</summary>
    public static JsonObject KeepMaskedSecrets(JsonObject incoming, JsonObject stored, IEnumerable<string> secretFields)
    {
        foreach (var path in secretFields)
        {
            if (Find(incoming, path) is not { } parent || parent[Leaf(path)] is not JsonValue v || !v.TryGetValue<string>(out var s) || !IsMasked(s)) continue;
            var old = Find(stored, path)?[Leaf(path)];
            parent[Leaf(path)] = old?.DeepClone();
        }
        return incoming;
    }

    private static string Leaf(string path) => path[(path.LastIndexOf('.') + 1)..];

    private static JsonObject? Find(JsonObject root, string path)
    {
        var parts = path.Split('.');
        JsonObject? node = root;
        for (var i = 0; i < parts.Length - 1 && node is not null; i++) node = node[parts[i]] as JsonObject;
        return node;
    }

    /// <summary>Validates an absolute http(s) URL setting.</summary>
    public static void RequireUrl(Validation v, string field, string? url, bool required = true)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            if (required) v.Add(field, "Give a URL.");
            return;
        }
        if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || (u.Scheme != Uri.UriSchemeHttp && u.Scheme != Uri.UriSchemeHttps))
            v.Add(field, "Give an absolute http(s) URL.");
    }

    public static void Require(Validation v, string field, string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) v.Add(field, "Required.");
    }
}
