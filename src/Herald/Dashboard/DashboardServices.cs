using Herald.Common;

namespace Herald.Dashboard;

/// <summary>
/// Runs application-service calls for a Blazor circuit, each in its own DI scope. A circuit lives for
/// as long as the browser tab, so a scoped DbContext would otherwise be shared by every click (stale
/// tracked entities, and "a second operation was started" when two components load at once).
/// </summary>
public sealed class DashboardServices(IServiceScopeFactory scopes)
{
    /// <summary>Resolves <typeparamref name="TService"/> in a fresh scope and runs <paramref name="work"/> with it.</summary>
    public async Task<T> RunAsync<TService, T>(Func<TService, Task<T>> work) where TService : notnull
    {
        await using var scope = scopes.CreateAsyncScope();
        return await work(scope.ServiceProvider.GetRequiredService<TService>());
    }

    public async Task RunAsync<TService>(Func<TService, Task> work) where TService : notnull
    {
        await using var scope = scopes.CreateAsyncScope();
        await work(scope.ServiceProvider.GetRequiredService<TService>());
    }

    /// <summary>The sentence to show a user for a failed service call (the same meaning as the API's problem details).</summary>
    public static string Describe(Exception e) => e switch
    {
        ValidationFailedException v => "Please correct: " + string.Join(" ", v.Errors.Select(x => $"{x.Key}: {string.Join(" ", x.Value)}")),
        NotFoundException nf => nf.Message,
        ConflictException c => c.Message,
        ForbiddenException f => "You are not allowed to do this: " + f.Message,
        OperationCanceledException => "The operation was cancelled.",
        _ => "Something went wrong; nothing was changed. The error was logged.",
    };
}
