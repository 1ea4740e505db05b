using Herald.Storage;
using Microsoft.EntityFrameworkCore;

namespace Herald.Channels;

/// <summary>
/// Decrypted settings of every configuration of a provider, for public webhooks that must find the
/// workspace by a provider-side identity (Twilio account, WhatsApp phone number) and check its secret.
/// Read on each call (there are few such rows) so a rotated secret takes effect at once.
/// </summary>
public static class ChannelDirectory
{
    public static async Task<IReadOnlyList<(long WorkspaceId, T Settings)>> LoadAsync<T>(HeraldDb db, ChannelSecrets secrets, string provider, CancellationToken ct)
        where T : class
    {
        var rows = await db.Set<ChannelConfig>().AsNoTracking()
            .Where(c => c.Provider == provider)
            .Select(c => new { c.WorkspaceId, c.ProtectedSettings })
            .ToListAsync(ct);
        var list = new List<(long, T)>(rows.Count);
        foreach (var r in rows)
        {
            try
            {
                list.Add((r.WorkspaceId, ProviderSettings.Read<T>(secrets.Unprotect(r.ProtectedSettings))));
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                // A row encrypted with a key this node no longer has cannot match any signature.
            }
        }
        return list;
    }
}
