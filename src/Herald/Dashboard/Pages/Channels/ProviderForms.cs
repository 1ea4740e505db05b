using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Herald.Channels;

namespace Herald.Dashboard.Pages.Channels;

/// <summary>How a provider setting is typed into the form.</summary>
public enum SettingKind { Text, Number, Choice, Multiline, JsonObject }

/// <summary>One setting of a provider's form: its JSON path (<c>dkim.selector</c>), label and help.</summary>
public sealed record ProviderSetting(string Path, string Label, string? Help = null, SettingKind Kind = SettingKind.Text, string[]? Choices = null);

/// <summary>
/// The forms of the provider settings (API.md, Channels). Validation stays with each provider's
/// definition (the service answers with errors keyed <c>settings.x</c>); which fields are secrets comes
/// from the definition too. This only says how to ask for them.
/// </summary>
public static class ProviderForms
{
    public static readonly IReadOnlyDictionary<string, ProviderSetting[]> Settings = new Dictionary<string, ProviderSetting[]>
    {
        ["smtp"] =
        [
            new("host", "SMTP host", "e.g. smtp.example.com"),
            new("port", "Port", "587 for STARTTLS, 465 for TLS", SettingKind.Number),
            new("security", "Security", null, SettingKind.Choice, ["starttls", "tls", "none"]),
            new("username", "Username", "Leave username and password empty for servers without sign-in"),
            new("password", "Password"),
            new("fromEmail", "From email", "The sender address recipients see"),
            new("fromName", "From name"),
            new("replyTo", "Reply-to email"),
            new("maxConnections", "Connections", "Open connections kept to the server (default 4)", SettingKind.Number),
            new("dkim.domain", "DKIM domain", "Optional DKIM signing: the domain, selector and RSA private key"),
            new("dkim.selector", "DKIM selector"),
            new("dkim.privateKeyPem", "DKIM private key (PEM)", null, SettingKind.Multiline),
        ],
        ["twilio"] =
        [
            new("accountSid", "Account SID", "Starts with AC"),
            new("authToken", "Auth token"),
            new("from", "From number", "E.164 number or sender id; or give a messaging service instead"),
            new("messagingServiceSid", "Messaging service SID"),
            new("baseUrl", "API base URL", "Leave empty for https://api.twilio.com"),
        ],
        ["whatsapp"] =
        [
            new("phoneNumberId", "Phone number id"),
            new("wabaId", "WhatsApp Business account id"),
            new("accessToken", "Access token"),
            new("appSecret", "App secret", "Verifies the webhooks Meta sends (X-Hub-Signature-256)"),
            new("verifyToken", "Webhook verify token", "The token you type in Meta's webhook settings"),
            new("apiVersion", "Graph API version", "Leave empty for v21.0"),
            new("baseUrl", "API base URL", "Leave empty for https://graph.facebook.com"),
        ],
        ["webpush"] =
        [
            new("vapidSubject", "VAPID subject", "mailto: or https: contact of the sender"),
            new("vapidPublicKey", "VAPID public key", "P-256, base64url"),
            new("vapidPrivateKey", "VAPID private key", "P-256, base64url"),
        ],
        ["webhook"] =
        [
            new("url", "URL", "Each message is POSTed here as signed JSON"),
            new("secret", "Signing secret", "At least 16 characters; receivers check X-Herald-Signature with it"),
            new("headers", "Extra headers (JSON object)", "e.g. {\"Authorization\": \"Bearer …\"}", SettingKind.JsonObject),
        ],
    };

    public static ProviderSetting[] For(string? provider) =>
        provider is not null && Settings.TryGetValue(provider, out var s) ? s : [];

    /// <summary>The form's values from a configuration's settings as the API shows them (secrets masked).</summary>
    public static Dictionary<string, string?> Read(string provider, JsonObject settings)
    {
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var s in For(provider))
        {
            var node = Find(settings, s.Path);
            values[s.Path] = node switch
            {
                null => null,
                JsonValue v when v.TryGetValue<string>(out var str) => str,
                JsonValue v => v.ToJsonString(),
                _ => node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }),
            };
        }
        return values;
    }

    /// <summary>
    /// The settings object to send: empty fields left out, numbers and JSON parsed. Problems a form can
    /// see before the server (a number that is not one) are added to <paramref name="errors"/>, keyed like the API's.
    /// </summary>
    public static JsonObject Write(string provider, IReadOnlyDictionary<string, string?> values, IDictionary<string, string[]> errors)
    {
        var root = new JsonObject();
        foreach (var s in For(provider))
        {
            if (!values.TryGetValue(s.Path, out var raw) || string.IsNullOrWhiteSpace(raw)) continue;
            JsonNode? node;
            switch (s.Kind)
            {
                case SettingKind.Number:
                    if (!int.TryParse(raw.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)) { errors[$"settings.{s.Path}"] = ["Give a whole number."]; continue; }
                    node = JsonValue.Create(n);
                    break;
                case SettingKind.JsonObject:
                    try { node = JsonNode.Parse(raw); }
                    catch (JsonException e) { errors[$"settings.{s.Path}"] = [$"Not valid JSON: {e.Message.Split(" Path:")[0]}"]; continue; }
                    if (node is not JsonObject) { errors[$"settings.{s.Path}"] = ["Write a JSON object, e.g. {\"X-Key\": \"value\"}."]; continue; }
                    break;
                default:
                    node = JsonValue.Create(s.Kind == SettingKind.Multiline ? raw : raw.Trim());
                    break;
            }
            Place(root, s.Path, node);
        }
        return root;
    }

    private static void Place(JsonObject root, string path, JsonNode? value)
    {
        var parts = path.Split('.');
        var node = root;
        for (var i = 0; i < parts.Length - 1; i++)
            node = node[parts[i]] as JsonObject ?? (JsonObject)(node[parts[i]] = new JsonObject());
        node[parts[^1]] = value;
    }

    private static JsonNode? Find(JsonObject root, string path)
    {
        JsonNode? node = root;
        foreach (var part in path.Split('.')) node = (node as JsonObject)?[part];
        return node;
    }

    /// <summary>Whether a definition calls <paramref name="path"/> a secret (shown masked, kept when sent back masked).</summary>
    public static bool IsSecret(IEnumerable<IChannelProviderDefinition> definitions, string provider, string path) =>
        definitions.FirstOrDefault(d => d.Provider == provider)?.SecretFields.Contains(path) == true;
}
