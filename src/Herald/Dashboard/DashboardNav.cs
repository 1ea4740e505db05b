using Herald.Auth;
using MudBlazor;

namespace Herald.Dashboard;

/// <summary>An entry of the navigation drawer; shown to users with at least <see cref="MinRole"/>.</summary>
public sealed record NavItem(string Title, string Href, string Icon, Role MinRole = Role.Viewer, bool Exact = false);

/// <summary>A "getting started" step on the home page, done when <c>Done</c> says so.</summary>
public sealed record StartStep(string Title, string Text, string Href, string Action, Role MinRole, Func<HomeCounts, bool> Done);

/// <summary>What the home page counted; features add their counts here when their pages arrive.</summary>
public sealed record HomeCounts(long Contacts, int Members, int ApiKeys);

/// <summary>
/// The dashboard's navigation and home checklist: the one list a feature extends when its pages
/// arrive. Only features that exist are listed, so a user never meets a page that does nothing.
/// </summary>
public static class DashboardNav
{
    public static readonly IReadOnlyList<NavItem> Items =
    [
        new("Home", "/", Icons.Material.Filled.Home, Exact: true),
        new("Contacts", "/contacts", Icons.Material.Filled.People),
        new("Segments", "/segments", Icons.Material.Filled.FilterAlt),
        new("Templates", "/templates", Icons.Material.Filled.Article),
        new("Campaigns", "/campaigns", Icons.Material.Filled.Campaign),
        new("Approvals", "/approvals", Icons.Material.Filled.FactCheck, Role.Approver),
        new("Journeys", "/journeys", Icons.Material.Filled.AltRoute),
        new("Outbox", "/outbox", Icons.Material.Filled.Outbox),
        new("Media", "/media", Icons.Material.Filled.PermMedia),
        new("Products", "/products", Icons.Material.Filled.Inventory2),
        // Viewers see the providers read-only (secrets masked); only admins change them.
        new("Channels", "/channels", Icons.Material.Filled.SettingsInputAntenna),
        new("Audit log", "/audit", Icons.Material.Filled.History),
        new("Settings", "/settings", Icons.Material.Filled.Settings),
    ];

    public static readonly IReadOnlyList<StartStep> GettingStarted =
    [
        new("Add your contacts", "Add the people you will message. Each contact needs an email, a phone or your own external id.",
            "/contacts?new=1", "Add a contact", Role.Editor, c => c.Contacts > 0),
        new("Import contacts", "Or upload a CSV or Excel file: match its columns to contact fields and watch the import run.",
            "/contacts/import", "Import contacts", Role.Editor, c => c.Contacts > 1),
        new("Invite your team", "Add editors who write campaigns and approvers who sign them off.",
            "/settings/users", "Add a user", Role.Admin, c => c.Members > 1),
        new("Connect your systems", "Create an API key so your shop or CRM can send contacts and events to Herald.",
            "/settings/api-keys", "Create an API key", Role.Admin, c => c.ApiKeys > 0),
    ];
}
