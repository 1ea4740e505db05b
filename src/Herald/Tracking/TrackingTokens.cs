using System.Buffers.Text;
using System.Security.Cryptography;
using Herald.Hosting;
using Herald.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Herald.Tracking;

/// <summary>What a token is for; signed into it, so a pixel token cannot unsubscribe and a click token cannot open.</summary>
public enum TokenKind : byte
{
    Open = 1,
    Click = 2,
    Unsubscribe = 3,
}

/// <summary>A verified token: the delivery, and for clicks the link and how many tracked links the message has.</summary>
public readonly record struct TrackingToken(TokenKind Kind, long DeliveryId, long LinkId = 0, int LinkCount = 0);

/// <summary>
/// Compact, URL-safe, signed tokens for /t/o, /t/c and /u. Layout (then base64url):
/// <c>[version&lt;&lt;4 | kind][delivery id varint]([link id varint][link count varint])[HMAC-SHA256 truncated to 16 bytes]</c>.
/// The MAC covers every byte before it, so an altered, truncated or extended token fails; 128 bits of MAC (RFC 2104's
/// "at least half the hash") make guessing hopeless. An open token is about 27 characters, a click token about 31.
/// The key is one random 256-bit secret per install, kept encrypted with Data Protection in <c>tracking_key</c>:
/// every node decrypts the same key with the key ring they share in the database.
/// </summary>
public sealed class TrackingTokens(IServiceScopeFactory scopes, IOptions<HeraldOptions> herald, TimeProvider clock)
{
    private const byte Version = 1;
    private const int MacBytes = 16;
    private const int MaxPayload = 1 + 10 + 10 + 5;
    private const string Purpose = "Herald.Tracking.TokenKey.v1";

    private readonly SemaphoreSlim _loading = new(1, 1);
    private byte[]? _key;

    /// <summary>The public base URL links are built on (<c>Herald:PublicBaseUrl</c>), without a trailing slash.</summary>
    public string BaseUrl { get; } = herald.Value.PublicBaseUrl.TrimEnd('/');

    /// <summary>Loads (or, on the very first call of an install, creates) the signing key. Call before <see cref="Create"/>.</summary>
    public async ValueTask EnsureKeyAsync(CancellationToken ct)
    {
        if (Volatile.Read(ref _key) is not null) return;
        await _loading.WaitAsync(ct);
        try
        {
            if (_key is not null) return;
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<HeraldDb>();
            var protector = scope.ServiceProvider.GetRequiredService<IDataProtectionProvider>().CreateProtector(Purpose);
            var row = await db.Set<TrackingKey>().AsNoTracking().FirstOrDefaultAsync(k => k.Id == 1, ct);
            if (row is null)
            {
                // Two nodes starting together may both get here: the key row's primary key lets one win, and both read it back.
                var fresh = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
                var sql = "INSERT INTO tracking_key (id, protected_key, created_at) VALUES (1, @k, @at) ON CONFLICT (id) DO NOTHING";
                await Delivery.Sql.ExecAsync(db, sql, ct, ("k", protector.Protect(fresh)),
                    ("at", db.IsPostgres ? clock.GetUtcNow().UtcDateTime : Delivery.Sql.SqliteTime(clock.GetUtcNow().UtcDateTime)));
                row = await db.Set<TrackingKey>().AsNoTracking().FirstAsync(k => k.Id == 1, ct);
            }
            Volatile.Write(ref _key, Convert.FromBase64String(protector.Unprotect(row.ProtectedKey)));
        }
        finally
        {
            _loading.Release();
        }
    }

    /// <summary>Signs with a given key instead of the install's (benchmarks and tests that have no database).</summary>
    internal void UseKey(byte[] key) => Volatile.Write(ref _key, (byte[])key.Clone());

    private byte[] Key => Volatile.Read(ref _key) ?? throw new InvalidOperationException("Tracking key not loaded: await EnsureKeyAsync first.");

    public string OpenUrl(long deliveryId) => Url("/t/o/", new TrackingToken(TokenKind.Open, deliveryId));

    public string ClickUrl(long deliveryId, long linkId, int linkCount) => Url("/t/c/", new TrackingToken(TokenKind.Click, deliveryId, linkId, linkCount));

    public string UnsubscribeUrl(long deliveryId) => Url("/u/", new TrackingToken(TokenKind.Unsubscribe, deliveryId));

    /// <summary>Signs a token (no I/O: a few hundred nanoseconds, done per message at render time).</summary>
    public string Create(TrackingToken t)
    {
        Span<byte> buf = stackalloc byte[MaxPayload + MacBytes];
        return Base64Url.EncodeToString(buf[..Sign(t, buf)]);
    }

    /// <summary><see cref="BaseUrl"/>, <paramref name="path"/> and the token, written straight into the one string (per message, several times).</summary>
    private string Url(string path, TrackingToken t)
    {
        Span<byte> buf = stackalloc byte[MaxPayload + MacBytes];
        var n = Sign(t, buf);
        var length = BaseUrl.Length + path.Length + Base64Url.GetEncodedLength(n);
        Span<char> url = length <= 512 ? stackalloc char[length] : new char[length];
        BaseUrl.CopyTo(url);
        path.CopyTo(url[BaseUrl.Length..]);
        Base64Url.EncodeToChars(buf[..n], url[(BaseUrl.Length + path.Length)..]);
        return new string(url);
    }

    /// <summary>Writes the payload and its truncated MAC into <paramref name="buf"/>; answers the token's length in bytes.</summary>
    private int Sign(TrackingToken t, Span<byte> buf)
    {
        var n = 0;
        buf[n++] = (byte)((Version << 4) | (byte)t.Kind);
        n += WriteVarint(buf[n..], (ulong)t.DeliveryId);
        if (t.Kind == TokenKind.Click)
        {
            n += WriteVarint(buf[n..], (ulong)t.LinkId);
            n += WriteVarint(buf[n..], (ulong)t.LinkCount);
        }
        Span<byte> mac = stackalloc byte[32];
        Mac(buf[..n], mac);
        mac[..MacBytes].CopyTo(buf[n..]);
        return n + MacBytes;
    }

    // One keyed HMAC per thread, reused: HMACSHA256.HashData(key, ...) sets the key up (and on OpenSSL fetches the digest)
    // on every call, which cost more than the hashing itself at a few tokens per message. Keyed by the key array, so
    // two instances (two installs in one test process) on one thread each get their own, just not cached at once.
    [ThreadStatic] private static byte[]? _hmacKey;
    [ThreadStatic] private static IncrementalHash? _hmac;

    private void Mac(ReadOnlySpan<byte> data, Span<byte> mac)
    {
        var key = Key;
        var hmac = _hmac;
        if (hmac is null || !ReferenceEquals(_hmacKey, key))
        {
            hmac?.Dispose();
            _hmac = hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
            _hmacKey = key;
        }
        hmac.AppendData(data);
        hmac.GetHashAndReset(mac);
    }

    /// <summary>Verifies a token of the expected kind; null for anything forged, altered, truncated or of another kind.</summary>
    public TrackingToken? Read(string? token, TokenKind expected)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 64) return null;
        Span<byte> buf = stackalloc byte[48];
        if (!Base64Url.IsValid(token) || Base64Url.GetMaxDecodedLength(token.Length) > buf.Length) return null;
        if (Base64Url.DecodeFromChars(token, buf, out _, out var length) != System.Buffers.OperationStatus.Done) return null;
        if (length < 1 + 1 + MacBytes) return null;
        // One spelling per token: spare bits in the last character must be zero, so no two strings are the same token.
        if (Base64Url.GetEncodedLength(length) != token.Length || !Base64Url.EncodeToString(buf[..length]).Equals(token, StringComparison.Ordinal)) return null;
        var data = buf[..(length - MacBytes)];
        Span<byte> mac = stackalloc byte[32];
        Mac(data, mac);
        if (!CryptographicOperations.FixedTimeEquals(mac[..MacBytes], buf.Slice(length - MacBytes, MacBytes))) return null;
        if (data[0] != (byte)((Version << 4) | (byte)expected)) return null;
        var pos = 1;
        if (!ReadVarint(data, ref pos, out var delivery) || delivery == 0 || delivery > long.MaxValue) return null;
        ulong link = 0, count = 0;
        if (expected == TokenKind.Click && (!ReadVarint(data, ref pos, out link) || !ReadVarint(data, ref pos, out count) || link > long.MaxValue || count > int.MaxValue))
            return null;
        if (pos != data.Length) return null;
        return new TrackingToken(expected, (long)delivery, (long)link, (int)count);
    }

    private static int WriteVarint(Span<byte> dest, ulong v)
    {
        var i = 0;
        while (v >= 0x80)
        {
            dest[i++] = (byte)(v | 0x80);
            v >>= 7;
        }
        dest[i++] = (byte)v;
        return i;
    }

    private static bool ReadVarint(ReadOnlySpan<byte> src, ref int pos, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && pos < src.Length; shift += 7)
        {
            var b = src[pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return true;
        }
        return false;
    }
}
