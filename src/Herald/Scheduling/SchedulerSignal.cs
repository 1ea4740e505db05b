using Herald.Storage;
using Microsoft.EntityFrameworkCore;

namespace Herald.Scheduling;

/// <summary>
/// Wakes the scheduler early when a run is created or moved, so it can sleep until the earliest due run
/// instead of polling. In process it completes a task the scheduler awaits; on PostgreSQL it also sends
/// <c>NOTIFY herald_scheduler</c> so the schedulers of the other nodes wake too (they LISTEN on a
/// dedicated connection).
/// </summary>
public sealed class SchedulerSignal
{
    /// <summary>The PostgreSQL notification channel.</summary>
    public const string Channel = "herald_scheduler";

    private TaskCompletionSource _tcs = NewSource();

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// A task completed by the next <see cref="Wake"/>. Take it BEFORE looking for due runs, so a run created
    /// while looking still wakes the sleep that follows.
    /// </summary>
    public Task NextWake => Volatile.Read(ref _tcs).Task;

    /// <summary>Wakes this process's scheduler.</summary>
    public void Wake() => Interlocked.Exchange(ref _tcs, NewSource()).TrySetResult();

    /// <summary>Wakes this process's scheduler and, on PostgreSQL, every other node's. Call after the change is saved.</summary>
    public async Task NotifyAsync(HeraldDb db, CancellationToken ct)
    {
        Wake();
        if (db.IsPostgres) await db.Database.ExecuteSqlRawAsync($"SELECT pg_notify('{Channel}', '')", ct);
    }
}
