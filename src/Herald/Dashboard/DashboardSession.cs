using System.Globalization;
using Herald.Auth;
using Herald.Storage;
using Herald.Workspaces;
using Microsoft.EntityFrameworkCore;

namespace Herald.Dashboard;

/// <summary>A workspace the signed-in user belongs to, for the switcher.</summary>
public sealed record WorkspaceChoice(long Id, string Name, Role Role);

/// <summary>
/// Who is using this circuit: the <see cref="Caller"/> from the cookie, the user, the current
/// workspace and the timezone to show times in. MainLayout loads it once and cascades it to pages.
/// </summary>
public sealed class DashboardSession
{
    public required Caller Caller { get; init; }
    public required string Email { get; init; }
    public string? Name { get; init; }
    public required string WorkspaceName { get; init; }
    public required IReadOnlyList<WorkspaceChoice> Workspaces { get; init; }
    /// <summary>The user's timezone, else the workspace's (IANA id).</summary>
    public required string TimezoneId { get; init; }
    public required TimeZoneInfo Zone { get; init; }

    public bool Can(Role role) => Caller.Can(role);

    public string DisplayName => string.IsNullOrWhiteSpace(Name) ? Email : Name;

    /// <summary>A stored UTC time in the user's zone, with the zone named: "2026-11-25 20:41 Asia/Kolkata".</summary>
    public string FormatTime(DateTime? utc)
    {
        if (utc is not { } t) return "—";
        var local = TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(t, DateTimeKind.Utc), Zone);
        return local.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " " + TimezoneId;
    }

    /// <summary>Loads the session for <paramref name="caller"/>; null when the user or membership is gone.</summary>
    public static async Task<DashboardSession?> LoadAsync(DashboardServices services, Caller caller, CancellationToken ct)
    {
        if (caller.UserId is not { } uid) return null;
        return await services.RunAsync<HeraldDb, DashboardSession?>(async db =>
        {
            var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == uid, ct);
            if (user is null) return null;
            var memberships = await db.Memberships.AsNoTracking().Where(m => m.UserId == uid)
                .Join(db.Workspaces, m => m.WorkspaceId, w => w.Id, (m, w) => new { w.Id, w.Name, w.Timezone, m.Role })
                .OrderBy(x => x.Id).ToListAsync(ct);
            var current = memberships.FirstOrDefault(m => m.Id == caller.WorkspaceId);
            if (current is null) return null;
            var tzId = FirstValidZone(user.Timezone, current.Timezone);
            return new DashboardSession
            {
                // The role is read from the membership, not the cookie: a demotion applies from the next page load.
                Caller = caller with { Role = current.Role },
                Email = user.Email,
                Name = user.Name,
                WorkspaceName = current.Name,
                Workspaces = memberships.Select(m => new WorkspaceChoice(m.Id, m.Name, m.Role)).ToList(),
                TimezoneId = tzId,
                Zone = TimeZoneInfo.FindSystemTimeZoneById(tzId),
            };
        });
    }

    private static string FirstValidZone(params string?[] ids)
    {
        foreach (var id in ids)
            if (!string.IsNullOrEmpty(id) && TimeZoneInfo.TryFindSystemTimeZoneById(id, out _)) return id;
        return "UTC";
    }
}
