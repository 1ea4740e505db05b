using System.Collections.Concurrent;
using Herald.Campaigns;
using Herald.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Scheduling;

/// <summary>A run starter that records which runs were started and when (by the app's clock).</summary>
public sealed class RecordingRunStarter(TimeProvider clock) : IRunStarter
{
    public ConcurrentQueue<(long RunId, DateTime At)> Started { get; } = new();

    public Task StartAsync(long runId, CancellationToken ct)
    {
        Started.Enqueue((runId, clock.GetUtcNow().UtcDateTime));
        return Task.CompletedTask;
    }

    public static void Register(IServiceCollection services)
    {
        services.AddSingleton<RecordingRunStarter>();
        services.AddSingleton<IRunStarter>(sp => sp.GetRequiredService<RecordingRunStarter>());
    }
}

/// <summary>Herald on a fake clock (2026-03-02 10:00 UTC) with a recording run starter; background roles off.</summary>
public class SchedulerApp : HeraldApp
{
    public static readonly DateTimeOffset Start = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    public SchedulerApp()
    {
        UseFakeTime = Start;
        ConfigureTestServices = RecordingRunStarter.Register;
    }

    public RecordingRunStarter Starter => Services.GetRequiredService<RecordingRunStarter>();
    public DateTime Now => Clock!.GetUtcNow().UtcDateTime;
}

/// <summary>The same with the scheduler role on, so its hosted loop runs (driven by the fake clock).</summary>
public sealed class SchedulerRoleApp : SchedulerApp
{
    public SchedulerRoleApp()
    {
        Roles = "web,scheduler";
    }
}
