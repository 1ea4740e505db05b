using System.Threading.Channels;
using Herald.Storage;
using Microsoft.EntityFrameworkCore;

namespace Herald.Delivery;

/// <summary>Counters of a run after a batch (or a state change), pushed to the dashboard.</summary>
public sealed record RunProgress(long WorkspaceId, long CampaignId, long RunId, string Status, string? StatusReason,
    int Total, int Pending, int Sent, int Failed, int Skipped, int Unknown, DateTime At);

/// <summary>
/// In-process stream of run progress. The dashboard's SignalR hub reads <see cref="Reader"/>; workers publish
/// after each batch. Bounded and lossy (oldest dropped): progress is a view, not a record.
/// </summary>
public interface IDeliveryProgress
{
    ChannelReader<RunProgress> Reader { get; }
    void Publish(RunProgress progress);

    /// <summary>Calls <paramref name="listener"/> for every published event (in addition to <see cref="Reader"/>); dispose to stop.</summary>
    IDisposable Subscribe(Action<RunProgress> listener);
}

internal sealed class DeliveryProgress : IDeliveryProgress
{
    private readonly Channel<RunProgress> _channel = Channel.CreateBounded<RunProgress>(
        new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = false, SingleWriter = false });

    public ChannelReader<RunProgress> Reader => _channel.Reader;

    private ImmutableListeners _listeners = new([]);

    public void Publish(RunProgress progress)
    {
        _channel.Writer.TryWrite(progress);
        foreach (var l in Volatile.Read(ref _listeners).Items) l(progress);
    }

    public IDisposable Subscribe(Action<RunProgress> listener)
    {
        ImmutableListeners before, after;
        do
        {
            before = Volatile.Read(ref _listeners);
            after = new ImmutableListeners([.. before.Items, listener]);
        } while (Interlocked.CompareExchange(ref _listeners, after, before) != before);
        return new Unsubscriber(this, listener);
    }

    private void Remove(Action<RunProgress> listener)
    {
        ImmutableListeners before, after;
        do
        {
            before = Volatile.Read(ref _listeners);
            after = new ImmutableListeners(before.Items.Where(l => l != listener).ToArray());
        } while (Interlocked.CompareExchange(ref _listeners, after, before) != before);
    }

    private sealed record ImmutableListeners(Action<RunProgress>[] Items);

    private sealed class Unsubscriber(DeliveryProgress owner, Action<RunProgress> listener) : IDisposable
    {
        public void Dispose() => owner.Remove(listener);
    }
}

/// <summary>
/// Wakes idle workers when work appears (run started, retry-failed, resume). No busy polling. On PostgreSQL
/// <see cref="NotifyAsync"/> also sends <c>NOTIFY herald_delivery</c>, which the scheduler's LISTEN connection on
/// every other node turns into a local <see cref="Wake"/> (worker-only nodes keep the idle wait, at most 2 s).
/// </summary>
public sealed class DeliverySignal
{
    /// <summary>The PostgreSQL notification channel.</summary>
    public const string Channel = "herald_delivery";

    /// <summary>Wakes this node's workers and, on PostgreSQL, every node's. Call after the change is committed.</summary>
    public async Task NotifyAsync(HeraldDb db, CancellationToken ct)
    {
        Wake();
        if (db.IsPostgres) await db.Database.ExecuteSqlRawAsync($"SELECT pg_notify('{Channel}', '')", ct);
    }

    private TaskCompletionSource _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Wake() => Interlocked.Exchange(ref _tcs, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Waits for <see cref="Wake"/> or the timeout, whichever first.</summary>
    public async Task WaitAsync(TimeSpan timeout, TimeProvider clock, CancellationToken ct)
    {
        var woken = Volatile.Read(ref _tcs).Task;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var delay = Task.Delay(timeout, clock, cts.Token);
        await Task.WhenAny(woken, delay);
        await cts.CancelAsync();
        ct.ThrowIfCancellationRequested();
    }
}
