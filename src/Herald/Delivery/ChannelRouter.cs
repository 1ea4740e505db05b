using System.Collections.Concurrent;
using Herald.Channels;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;

namespace Herald.Delivery;

/// <summary>The provider that serves a channel of a workspace, with its limits and crash policy.</summary>
public sealed record ChannelRoute(IChannelProvider Provider, long? ChannelConfigId, string Channel, string RateKey,
    int? RateLimitPerSecond, int? RateLimitPerMinute, string CrashPolicy);

/// <summary>
/// Picks the provider of a delivery: its channel config (set at run start), else the workspace's default
/// config for the channel, else the built-in sandbox. Providers are built once through the registered
/// <see cref="IChannelProviderFactory"/> instances and cached per config version.
/// </summary>
public sealed class ChannelRouter(IEnumerable<IChannelProviderFactory> factories, ChannelSecrets secrets, IServiceScopeFactory scopes) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ChannelRoute> _routes = new();
    private readonly ConcurrentDictionary<string, (DateTime At, long? ConfigId)> _defaults = new();

    /// <summary>The default config id of a channel in a workspace (null = sandbox). Cached for 10 s.</summary>
    public async Task<long?> DefaultConfigIdAsync(HeraldDb db, long workspaceId, string channel, DateTime now, CancellationToken ct)
    {
        var key = $"{workspaceId}:{channel}";
        if (_defaults.TryGetValue(key, out var d) && now - d.At < TimeSpan.FromSeconds(10)) return d.ConfigId;
        var id = await db.Set<ChannelConfig>().AsNoTracking()
            .Where(c => c.WorkspaceId == workspaceId && c.Channel == channel)
            .OrderByDescending(c => c.IsDefault).ThenBy(c => c.Id)
            .Select(c => (long?)c.Id).FirstOrDefaultAsync(ct);
        _defaults[key] = (now, id);
        return id;
    }

    public async Task<ChannelRoute> RouteAsync(long workspaceId, string channel, long? configId, CancellationToken ct)
    {
        ChannelConfig? config = null;
        if (configId is { } id)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
            config = await db.Set<ChannelConfig>().AsNoTracking().FirstOrDefaultAsync(c => c.Id == id && c.WorkspaceId == workspaceId, ct);
        }
        if (config is null)
        {
            var key = $"sandbox:{workspaceId}:{channel}";
            return _routes.GetOrAdd(key, k => new ChannelRoute(Build(SandboxProvider.Name, channel, "{}"), null, channel, k, null, null, CrashPolicies.DefaultFor(channel)));
        }
        var cacheKey = $"cfg:{config.Id}:{config.UpdatedAt.Ticks}";
        if (_routes.TryGetValue(cacheKey, out var route)) return route;
        route = new ChannelRoute(Build(config.Provider, channel, secrets.Unprotect(config.ProtectedSettings)), config.Id, channel,
            $"cfg:{config.Id}", config.RateLimitPerSecond, config.RateLimitPerMinute, config.CrashPolicy);
        return _routes.GetOrAdd(cacheKey, route);
    }

    private IChannelProvider Build(string provider, string channel, string settings)
    {
        var factory = factories.FirstOrDefault(f => f.Providers.Contains(provider))
            ?? throw new InvalidOperationException($"No channel provider '{provider}' is registered.");
        return factory.Create(provider, channel, settings);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var r in _routes.Values) await r.Provider.DisposeAsync();
        _routes.Clear();
    }
}
