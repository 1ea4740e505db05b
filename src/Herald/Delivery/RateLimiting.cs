using System.Collections.Concurrent;
using Herald.Storage;

namespace Herald.Delivery;

/// <summary>Messages per second and per minute a provider (or a campaign override) may send.</summary>
public sealed record RateLimit(int? PerSecond, int? PerMinute)
{
    public bool IsUnlimited => PerSecond is null && PerMinute is null;

    /// <summary>
    /// One bucket honours both limits: it refills at the smaller rate and holds one second's worth, so no
    /// second exceeds PerSecond and no minute exceeds PerMinute by more than a second's refill.
    /// </summary>
    public double RatePerSecond => Math.Min(PerSecond ?? double.MaxValue, PerMinute is { } m ? m / 60.0 : double.MaxValue);

    public double Capacity => Math.Max(1, Math.Floor(RatePerSecond));
}

/// <summary>A token bucket keyed by provider (and campaign override): shared across nodes on PostgreSQL, in-process on SQLite.</summary>
public interface IRateLimiter
{
    /// <summary>Takes up to <paramref name="want"/> tokens now; returns how many were granted (0 when empty).</summary>
    Task<int> TryTakeAsync(string key, RateLimit limit, int want, CancellationToken ct);
}

/// <summary>In-process buckets (SQLite: one process owns all work).</summary>
public sealed class InProcessRateLimiter(TimeProvider clock) : IRateLimiter
{
    private sealed class Bucket { public double Tokens; public long At; }
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new();

    public Task<int> TryTakeAsync(string key, RateLimit limit, int want, CancellationToken ct)
    {
        var now = clock.GetTimestamp();
        var b = _buckets.GetOrAdd(key, _ => new Bucket { Tokens = limit.Capacity, At = now });
        lock (b)
        {
            var elapsed = clock.GetElapsedTime(b.At, now).TotalSeconds;
            if (elapsed > 0) { b.Tokens = Math.Min(limit.Capacity, b.Tokens + elapsed * limit.RatePerSecond); b.At = now; }
            var granted = (int)Math.Floor(Math.Min(want, b.Tokens));
            b.Tokens -= granted;
            return Task.FromResult(granted);
        }
    }
}

/// <summary>
/// A rate_bucket row per key, refilled by elapsed time. Callers take up to one second of tokens per call
/// (<see cref="RateLimit.Capacity"/>), so the database is hit a few times a second per provider, not per message.
/// </summary>
public sealed class PostgresRateLimiter(IServiceScopeFactory scopes, TimeProvider clock) : IRateLimiter
{
    // RateBucketTake: create the bucket full on first use, then refill by elapsed time and take in one
    // UPDATE; the row lock serializes nodes, RETURNING gives the grant (last_granted, since RETURNING sees new values).
    private const string TakeSql = """
        INSERT INTO rate_bucket (key, tokens, last_granted, updated_at) VALUES (@k, @cap, 0, @now) ON CONFLICT (key) DO NOTHING;
        UPDATE rate_bucket SET
            last_granted = FLOOR(LEAST(@want, LEAST(@cap, tokens + GREATEST(0, EXTRACT(EPOCH FROM (@now - updated_at))) * @rate))),
            tokens = LEAST(@cap, tokens + GREATEST(0, EXTRACT(EPOCH FROM (@now - updated_at))) * @rate)
                     - FLOOR(LEAST(@want, LEAST(@cap, tokens + GREATEST(0, EXTRACT(EPOCH FROM (@now - updated_at))) * @rate))),
            updated_at = GREATEST(updated_at, @now)
        WHERE key = @k
        RETURNING last_granted
        """;

    public async Task<int> TryTakeAsync(string key, RateLimit limit, int want, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
        var rows = await Sql.QueryAsync(db, TakeSql, r => Convert.ToDouble(r.GetValue(0)), ct,
            ("k", key), ("cap", limit.Capacity), ("now", clock.GetUtcNow().UtcDateTime), ("want", (double)want), ("rate", limit.RatePerSecond));
        return rows.Count == 0 ? 0 : (int)rows[0];
    }
}

/// <summary>Workspace daily limits per channel (in the workspace's local day), reserved atomically across nodes.</summary>
public static class DailyLimits
{
    /// <summary>Reserves up to <paramref name="want"/> of today's allowance; returns how many were granted.</summary>
    public static async Task<int> TakeAsync(HeraldDb db, long workspaceId, string channel, string day, int limit, int want, CancellationToken ct)
    {
        var least = Sql.Least(db);
        var greatest = Sql.Greatest(db);
        // DailyUsageTake: one upsert; the conflict branch computes the grant from the old row (SET reads old values).
        var rows = await Sql.QueryAsync(db, $"""
            INSERT INTO daily_usage (workspace_id, channel, day, used, last_granted)
            VALUES (@w, @c, @d, {least}(@want, @limit), {least}(@want, @limit))
            ON CONFLICT (workspace_id, channel, day) DO UPDATE SET
                last_granted = {greatest}(0, {least}(@want, @limit - daily_usage.used)),
                used = daily_usage.used + {greatest}(0, {least}(@want, @limit - daily_usage.used))
            RETURNING last_granted
            """, r => r.GetInt32(0), ct, ("w", workspaceId), ("c", channel), ("d", day), ("want", want), ("limit", limit));
        return rows.Count == 0 ? 0 : rows[0];
    }
}
