using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using MimeKit;
using SmtpServer;
using SmtpServer.Authentication;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace Herald.Tests.Channels;

/// <summary>
/// A real SMTP server (the SmtpServer package) on a loopback port that keeps what it receives.
/// Recipients can be made to answer a chosen reply code; sessions (TCP connections) are counted.
/// </summary>
public sealed class SmtpSink : IAsyncDisposable
{
    /// <summary>A message as the sink took it; <see cref="Secure"/> when its session ran over TLS.</summary>
    public sealed record Received(string From, IReadOnlyList<string> To, byte[] Raw, Guid SessionId, bool Secure = false)
    {
        public MimeMessage Message => MimeMessage.Load(new MemoryStream(Raw));
    }

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;
    private int _sessions;

    public ConcurrentQueue<Received> Messages { get; } = new();
    /// <summary>Recipient address -> reply code to answer RCPT TO with (e.g. 550, 451).</summary>
    public ConcurrentDictionary<string, int> Rejections { get; } = new(StringComparer.OrdinalIgnoreCase);
    public int Port { get; }
    public int Sessions => Volatile.Read(ref _sessions);
    public string? User { get; }
    public string? Password { get; }
    public ConcurrentQueue<string> Logins { get; } = new();

    /// <param name="certificate">With a certificate the sink speaks TLS: from the first byte when <paramref name="implicitTls"/>, else it offers STARTTLS.</param>
    public SmtpSink(string? user = null, string? password = null, X509Certificate2? certificate = null, bool implicitTls = false)
    {
        User = user;
        Password = password;
        Port = FreePort();
        var options = new SmtpServerOptionsBuilder()
            .ServerName("sink.local")
            .Endpoint(b =>
            {
                b.Endpoint(new IPEndPoint(IPAddress.Loopback, Port))
                    .AllowUnsecureAuthentication(certificate is null)
                    .AuthenticationRequired(user is not null);
                if (certificate is not null) b.Certificate(certificate).IsSecure(implicitTls);
            })
            .Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(new Store(this));
        services.Add(new Filter(this));
        services.Add(new Authenticator(this));
        var server = new SmtpServer.SmtpServer(options, services);
        server.SessionCreated += (_, _) => Interlocked.Increment(ref _sessions);
        _running = server.StartAsync(_stop.Token);
    }

    public Herald.Channels.Smtp.SmtpSettings Settings(int maxConnections = 4) => new()
    {
        Host = "127.0.0.1", Port = Port, Security = "none", Username = User, Password = Password,
        FromEmail = "news@shop.example", FromName = "Shop News", MaxConnections = maxConnections,
    };

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { await _running.WaitAsync(TimeSpan.FromSeconds(5)); }
        catch (Exception) { /* stopping */ }
    }

    private sealed class Store(SmtpSink sink) : MessageStore
    {
        public override Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken ct)
        {
            sink.Messages.Enqueue(new Received(Address(transaction.From), transaction.To.Select(Address).ToList(), buffer.ToArray(), context.SessionId,
                context.Pipe?.IsSecure ?? false));
            return Task.FromResult(SmtpResponse.Ok);
        }
    }

    private sealed class Filter(SmtpSink sink) : IMailboxFilter
    {
        public Task<bool> CanAcceptFromAsync(ISessionContext context, IMailbox from, int size, CancellationToken ct) => Task.FromResult(true);

        public Task<bool> CanDeliverToAsync(ISessionContext context, IMailbox to, IMailbox from, CancellationToken ct)
        {
            if (sink.Rejections.TryGetValue(Address(to), out var code))
                throw new SmtpResponseException(new SmtpResponse((SmtpReplyCode)code, code >= 500 ? "5.1.1 No such user here" : "4.7.1 Try again later"));
            return Task.FromResult(true);
        }
    }

    private sealed class Authenticator(SmtpSink sink) : IUserAuthenticator
    {
        public Task<bool> AuthenticateAsync(ISessionContext context, string user, string password, CancellationToken ct)
        {
            sink.Logins.Enqueue(user);
            return Task.FromResult(user == sink.User && password == sink.Password);
        }
    }

    private static string Address(IMailbox m) => $"{m.User}@{m.Host}";
}
