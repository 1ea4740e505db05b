using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Herald.Audit;
using Herald.Auth;
using Herald.Common;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;

namespace Herald.Channels;

/// <summary>Body of POST/PUT /api/v1/channels.</summary>
public sealed class ChannelInput
{
    public string? Channel { get; set; }
    public string? Provider { get; set; }
    public string? Name { get; set; }
    public bool? Default { get; set; }
    public JsonElement? Settings { get; set; }
    public RateLimitDto? RateLimit { get; set; }
    public string? CrashPolicy { get; set; }
}

public sealed record RateLimitDto(int? PerSecond, int? PerMinute);

/// <summary>A channel configuration as the API shows it: secrets masked.</summary>
public sealed record ChannelDto(string Id, string Channel, string Provider, string Name, bool Default, JsonObject Settings,
    RateLimitDto RateLimit, string CrashPolicy, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>
/// Channel configurations per workspace: validation per provider, encryption of settings at rest,
/// masking of secrets on the way out and one default per channel.
/// </summary>
public sealed class ChannelService(HeraldDb db, AuditLog audit, ChannelSecrets secrets, TimeProvider clock, IEnumerable<IChannelProviderDefinition> definitions)
{
    /// <summary>The provider every channel falls back to; built by the delivery engine, configured here without settings.</summary>
    public const string Sandbox = "sandbox";

    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    public async Task<Paged<ChannelDto>> ListAsync(Caller caller, string? channel, PageRequest page, CancellationToken ct)
    {
        var q = db.Set<ChannelConfig>().AsNoTracking().Where(c => c.WorkspaceId == caller.WorkspaceId);
        if (!string.IsNullOrEmpty(channel)) q = q.Where(c => c.Channel == channel);
        var total = await q.LongCountAsync(ct);
        var rows = await q.OrderBy(c => c.Channel).ThenBy(c => c.Id).Skip(page.Skip).Take(page.Limit).ToListAsync(ct);
        return new Paged<ChannelDto>(rows.Select(ToDto).ToList(), total, page.Page, page.Limit);
    }

    public async Task<ChannelConfig> GetAsync(Caller caller, long id, CancellationToken ct) =>
        await db.Set<ChannelConfig>().FirstOrDefaultAsync(c => c.Id == id && c.WorkspaceId == caller.WorkspaceId, ct)
        ?? throw new NotFoundException($"Channel {id}");

    public async Task<ChannelDto> CreateAsync(Caller caller, ChannelInput input, CancellationToken ct)
    {
        var v = new Validation();
        if (!ChannelNames.IsKnown(input.Channel)) v.Add("channel", $"Use one of: {string.Join(", ", ChannelNames.All)}.");
        var definition = ResolveProvider(v, input.Channel, input.Provider);
        if (string.IsNullOrWhiteSpace(input.Name)) v.Add("name", "Give the configuration a name.");
        else if (input.Name.Length > 200) v.Add("name", "At most 200 characters.");
        ValidateLimits(v, input);
        v.ThrowIfInvalid();

        var settings = ValidateSettings(definition, input.Settings);
        var now = Now;
        var config = new ChannelConfig
        {
            WorkspaceId = caller.WorkspaceId,
            Channel = input.Channel!,
            Provider = input.Provider!,
            Name = input.Name!.Trim(),
            ProtectedSettings = secrets.Protect(settings),
            RateLimitPerSecond = input.RateLimit?.PerSecond,
            RateLimitPerMinute = input.RateLimit?.PerMinute,
            CrashPolicy = input.CrashPolicy ?? CrashPolicies.DefaultFor(input.Channel!),
            CreatedAt = now,
            UpdatedAt = now,
        };
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        // The first configuration of a channel becomes its default: a workspace that set up one SMTP
        // server expects it to be used.
        var hasAny = await db.Set<ChannelConfig>().AnyAsync(c => c.WorkspaceId == caller.WorkspaceId && c.Channel == config.Channel, ct);
        config.IsDefault = input.Default ?? !hasAny;
        if (config.IsDefault) await ClearDefaultAsync(caller.WorkspaceId, config.Channel, exceptId: null, ct);
        db.Set<ChannelConfig>().Add(config);
        await db.SaveChangesAsync(ct);
        audit.Record(caller, "channel.create", "channel", config.Id, new { config.Channel, config.Provider, config.Name, config.IsDefault });
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return ToDto(config);
    }

    /// <summary>Replaces the configuration; a secret sent back masked keeps its stored value.</summary>
    public async Task<ChannelDto> UpdateAsync(Caller caller, long id, ChannelInput input, CancellationToken ct)
    {
        var config = await GetAsync(caller, id, ct);
        var v = new Validation();
        if (input.Channel is not null && input.Channel != config.Channel) v.Add("channel", "The channel of a configuration cannot change; create another.");
        var provider = input.Provider ?? config.Provider;
        var definition = ResolveProvider(v, config.Channel, provider);
        if (input.Name is not null && string.IsNullOrWhiteSpace(input.Name)) v.Add("name", "Give the configuration a name.");
        ValidateLimits(v, input);
        v.ThrowIfInvalid();

        if (input.Settings is { } incoming)
        {
            var node = JsonNode.Parse(incoming.GetRawText());
            if (node is JsonObject obj && definition is not null && provider == config.Provider)
            {
                var stored = JsonNode.Parse(secrets.Unprotect(config.ProtectedSettings)) as JsonObject ?? [];
                ProviderSettings.KeepMaskedSecrets(obj, stored, definition.SecretFields);
            }
            using var doc = JsonDocument.Parse(node?.ToJsonString() ?? "null");
            config.ProtectedSettings = secrets.Protect(ValidateSettings(definition, doc.RootElement));
        }
        else if (provider != config.Provider) throw ValidationFailedException.For("settings", "Give the settings of the new provider.");

        config.Provider = provider;
        if (input.Name is not null) config.Name = input.Name.Trim();
        if (input.RateLimit is not null)
        {
            config.RateLimitPerSecond = input.RateLimit.PerSecond;
            config.RateLimitPerMinute = input.RateLimit.PerMinute;
        }
        if (input.CrashPolicy is not null) config.CrashPolicy = input.CrashPolicy;
        config.UpdatedAt = Now;

        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (input.Default is { } makeDefault && makeDefault != config.IsDefault)
        {
            if (makeDefault) await ClearDefaultAsync(caller.WorkspaceId, config.Channel, config.Id, ct);
            config.IsDefault = makeDefault;
        }
        audit.Record(caller, "channel.update", "channel", config.Id, new { config.Provider, config.Name, config.IsDefault, settingsChanged = input.Settings is not null });
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return ToDto(config);
    }

    public async Task DeleteAsync(Caller caller, long id, CancellationToken ct)
    {
        var config = await GetAsync(caller, id, ct);
        db.Set<ChannelConfig>().Remove(config);
        audit.Record(caller, "channel.delete", "channel", config.Id, new { config.Channel, config.Provider, config.Name });
        await db.SaveChangesAsync(ct);
    }

    public async Task<ConnectionCheck> TestAsync(Caller caller, long id, CancellationToken ct)
    {
        var config = await GetAsync(caller, id, ct);
        var definition = definitions.FirstOrDefault(d => d.Provider == config.Provider);
        ConnectionCheck result;
        if (definition is null) result = new ConnectionCheck(true, "The sandbox records messages; there is nothing to connect to.");
        else
        {
            var sw = Stopwatch.StartNew();
            try
            {
                result = await definition.TestAsync(secrets.Unprotect(config.ProtectedSettings), ct);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                result = new ConnectionCheck(false, e.Message);
            }
            result = result with { ElapsedMs = sw.ElapsedMilliseconds };
        }
        audit.Record(caller, "channel.test", "channel", config.Id, new { result.Ok, result.Detail });
        await db.SaveChangesAsync(ct);
        return result;
    }

    public ChannelDto ToDto(ChannelConfig c)
    {
        var settings = JsonNode.Parse(secrets.Unprotect(c.ProtectedSettings)) as JsonObject ?? [];
        var definition = definitions.FirstOrDefault(d => d.Provider == c.Provider);
        if (definition is not null) ProviderSettings.MaskSecrets(settings, definition.SecretFields);
        return new ChannelDto(c.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), c.Channel, c.Provider, c.Name, c.IsDefault, settings,
            new RateLimitDto(c.RateLimitPerSecond, c.RateLimitPerMinute), c.CrashPolicy, c.CreatedAt, c.UpdatedAt);
    }

    private IChannelProviderDefinition? ResolveProvider(Validation v, string? channel, string? provider)
    {
        if (string.IsNullOrWhiteSpace(provider))
        {
            v.Add("provider", "Give the provider.");
            return null;
        }
        if (provider == Sandbox) return null;
        var definition = definitions.FirstOrDefault(d => d.Provider == provider);
        if (definition is null)
            v.Add("provider", $"Unknown provider. Use one of: {string.Join(", ", definitions.Select(d => d.Provider).Append(Sandbox))}.");
        else if (channel is not null && definition.Channel != channel)
            v.Add("provider", $"Provider {provider} serves the {definition.Channel} channel, not {channel}.");
        return definition;
    }

    private static string ValidateSettings(IChannelProviderDefinition? definition, JsonElement? settings)
    {
        if (definition is null)
        {
            if (settings is { ValueKind: JsonValueKind.Object } s && s.EnumerateObject().Any())
                throw ValidationFailedException.For("settings", "The sandbox provider takes no settings.");
            return "{}";
        }
        if (settings is null) throw ValidationFailedException.For("settings", "Give the provider settings.");
        return definition.Validate(settings.Value);
    }

    private static void ValidateLimits(Validation v, ChannelInput input)
    {
        if (input.RateLimit?.PerSecond is <= 0) v.Add("rateLimit.perSecond", "Must be positive.");
        if (input.RateLimit?.PerMinute is <= 0) v.Add("rateLimit.perMinute", "Must be positive.");
        if (input.CrashPolicy is not null and not (CrashPolicies.AtLeastOnce or CrashPolicies.AtMostOnce))
            v.Add("crashPolicy", $"Use {CrashPolicies.AtMostOnce} or {CrashPolicies.AtLeastOnce}.");
    }

    private Task<int> ClearDefaultAsync(long workspaceId, string channel, long? exceptId, CancellationToken ct) =>
        db.Set<ChannelConfig>()
            .Where(c => c.WorkspaceId == workspaceId && c.Channel == channel && c.IsDefault && (exceptId == null || c.Id != exceptId))
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.IsDefault, false), ct);
}
