using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Security.Cryptography;
using MailKit.Net.Smtp;
using MailKit.Security;

namespace Herald.Channels.Smtp;

/// <summary>
/// Authenticated SMTP connections kept open and reused across messages and batches: at most
/// <see cref="SmtpSettings.Connections"/> at a time. Connecting and authenticating costs several
/// round trips (and a TLS handshake), more than sending a message, so a connection per message
/// would cap throughput and trip providers' connection-rate limits.
/// </summary>
public sealed class SmtpConnectionPool(SmtpSettings settings, TimeProvider clock) : IAsyncDisposable
{
    /// <summary>Idle connections older than this are closed rather than reused: servers drop idle sessions (typically after 60-300 s).</summary>
    public static readonly TimeSpan MaxIdle = TimeSpan.FromSeconds(50);

    /// <summary>Per-command timeout. Default: 30 s.</summary>
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    private readonly SemaphoreSlim _slots = new(settings.Connections, settings.Connections);
    private readonly ConcurrentBag<Lease> _idle = [];
    private int _opened;
    private bool _disposed;

    /// <summary>Connections opened since the pool was created (reconnects included).</summary>
    public int Opened => Volatile.Read(ref _opened);

    public int MaxConnections => settings.Connections;

    /// <summary>A connection checked out of the pool; <see cref="Reused"/> when it served an earlier message.</summary>
    public sealed class Lease(SmtpClient client, DateTime lastUsed, bool reused)
    {
        public SmtpClient Client { get; } = client;
        public DateTime LastUsed { get; set; } = lastUsed;
        public bool Reused { get; set; } = reused;
    }

    public async Task<Lease> RentAsync(CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _slots.WaitAsync(ct);
        try
        {
            var now = clock.GetUtcNow().UtcDateTime;
            while (_idle.TryTake(out var lease))
            {
                if (lease.Client.IsConnected && now - lease.LastUsed < MaxIdle)
                {
                    lease.Reused = true;
                    return lease;
                }
                await CloseAsync(lease.Client);
            }
            var client = await ConnectAsync(settings, ct);
            Interlocked.Increment(ref _opened);
            return new Lease(client, now, reused: false);
        }
        catch
        {
            _slots.Release();
            throw;
        }
    }

    /// <summary>Gives a healthy connection back for the next message.</summary>
    public void Return(Lease lease)
    {
        if (_disposed || !lease.Client.IsConnected)
        {
            Discard(lease);
            return;
        }
        lease.LastUsed = clock.GetUtcNow().UtcDateTime;
        _idle.Add(lease);
        _slots.Release();
    }

    /// <summary>Closes a connection that failed (protocol error, timeout, dropped socket); the next rent reconnects.</summary>
    public void Discard(Lease lease)
    {
        _ = CloseAsync(lease.Client);
        _slots.Release();
    }

    /// <summary>Opens and authenticates one connection with these settings.</summary>
    public static async Task<SmtpClient> ConnectAsync(SmtpSettings settings, CancellationToken ct)
    {
        var client = new SmtpClient { Timeout = (int)CommandTimeout.TotalMilliseconds };
        if (settings.Pin is { } pin)
            client.ServerCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is not null && string.Equals(certificate.GetCertHashString(HashAlgorithmName.SHA256), pin, StringComparison.OrdinalIgnoreCase);
        try
        {
            var security = settings.Security switch
            {
                "tls" => SecureSocketOptions.SslOnConnect,
                "starttls" => SecureSocketOptions.StartTls,
                _ => SecureSocketOptions.None,
            };
            // Our own socket, to turn Nagle off: SMTP is a chat of small writes (the end-of-data dot,
            // pipelined commands), and Nagle holding them for the peer's delayed ACK costs ~40 ms a message.
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(settings.Host!, settings.Port, ct);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
            await client.ConnectAsync(socket, settings.Host!, settings.Port, security, ct);
            if (!string.IsNullOrEmpty(settings.Username))
                await client.AuthenticateAsync(settings.Username, settings.Password ?? "", ct);
            // Without SIZE, MailKit does not format each message twice (once only to measure it for
            // MAIL FROM SIZE=); a server still refuses an oversized message at the end of DATA (552).
            // Campaign mail is far below any server's limit.
            client.Capabilities &= ~SmtpCapabilities.Size;
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private static async Task CloseAsync(SmtpClient client)
    {
        try
        {
            if (client.IsConnected)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await client.DisconnectAsync(true, cts.Token);
            }
        }
        catch (Exception)
        {
            // Closing a broken connection may fail; it is being thrown away either way.
        }
        finally
        {
            client.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        while (_idle.TryTake(out var lease)) await CloseAsync(lease.Client);
    }
}
