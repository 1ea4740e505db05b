using Herald.Auth;
using Herald.Workspaces;

namespace Herald.Dashboard.Shared;

/// <summary>Names the actors stored on records ("user:2") after the workspace's members, for pages that show who did what.</summary>
public sealed class People(IReadOnlyDictionary<string, string> names)
{
    public static readonly People None = new(new Dictionary<string, string>());

    /// <summary>The member's name and email; API keys ("key:3"), "auto" and unknown ids stay as they are.</summary>
    public string Who(string? actor) => actor is null ? "—" : names.GetValueOrDefault(actor, actor);

    /// <summary>The workspace's members; on failure an empty map (the ids still show).</summary>
    public static async Task<People> LoadAsync(DashboardServices services, Caller caller)
    {
        try
        {
            var users = await services.RunAsync<WorkspaceService, List<UserDto>>(s => s.ListMembersAsync(caller, CancellationToken.None));
            return new People(users.ToDictionary(u => "user:" + u.Id, u => string.IsNullOrWhiteSpace(u.Name) ? u.Email : $"{u.Name} ({u.Email})"));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return None;
        }
    }
}
