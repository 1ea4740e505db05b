using Microsoft.Extensions.Options;

namespace Herald.Delivery;

/// <summary>
/// Runs <see cref="DeliveryOptions.Workers"/> claim loops and one sweep loop on a worker node. A loop that
/// finds nothing sleeps with growing backoff (up to <see cref="DeliveryOptions.IdleMaxSeconds"/>) and is woken
/// at once by <see cref="DeliverySignal"/> when a run starts on this node.
/// </summary>
public sealed class DeliveryWorker(DeliveryEngine engine, DeliverySignal signal, IOptions<DeliveryOptions> options, TimeProvider clock, ILogger<DeliveryWorker> log)
    : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var loops = Enumerable.Range(0, options.Value.Workers).Select(i => Task.Run(() => ClaimLoopAsync(i, stoppingToken), stoppingToken)).ToList();
        loops.Add(Task.Run(() => SweepLoopAsync(stoppingToken), stoppingToken));
        return Task.WhenAll(loops);
    }

    private async Task ClaimLoopAsync(int index, CancellationToken ct)
    {
        var idle = TimeSpan.FromMilliseconds(20);
        var max = TimeSpan.FromSeconds(options.Value.IdleMaxSeconds);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var r = await engine.RunOnceAsync(ct);
                if (r.Claimed > 0) { idle = TimeSpan.FromMilliseconds(20); continue; }
                await signal.WaitAsync(idle, clock, ct);
                idle = TimeSpan.FromTicks(Math.Min(max.Ticks, idle.Ticks * 2));
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                log.LogError(e, "Delivery worker {Index} failed a pass; retrying", index);
                try { await Task.Delay(TimeSpan.FromSeconds(1), clock, ct); } catch (OperationCanceledException) { return; }
            }
        }
    }

    private async Task SweepLoopAsync(CancellationToken ct)
    {
        var period = TimeSpan.FromSeconds(options.Value.SweepSeconds);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(period, clock, ct);
                await engine.SweepAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e) { log.LogError(e, "Delivery sweep failed"); }
        }
    }
}
