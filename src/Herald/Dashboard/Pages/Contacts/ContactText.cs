using Herald.Contacts;

namespace Herald.Dashboard.Pages.Contacts;

/// <summary>How the dashboard names a contact.</summary>
public static class ContactText
{
    public static string Name(ContactDto c)
    {
        var name = $"{c.FirstName} {c.LastName}".Trim();
        return name.Length > 0 ? name : c.Email ?? c.Phone ?? c.ExternalId ?? $"Contact {c.Id}";
    }
}
