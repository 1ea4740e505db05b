using System.Buffers;
using System.Text;
using MimeKit;
using MimeKit.Encodings;
using MimeKit.IO;
using MimeKit.IO.Filters;

namespace Herald.Channels.Smtp;

/// <summary>
/// The body of an outgoing email, a text part or multipart/alternative text + HTML, encoded once
/// straight into the bytes that go on the wire. Every recipient's body differs (tracking pixel and
/// link tokens, merge fields), so nothing is cached across messages; the saving is in building: no
/// TextPart/Multipart tree, no Prepare pass choosing encodings, no per-part formatting through
/// filter chains when MailKit writes DATA (and when DKIM hashes the body, which reads these same bytes).
/// </summary>
/// <remarks>
/// The content is always 7-bit clean, so it is valid without 8BITMIME and no relay re-encodes it
/// (which would break a DKIM body hash): a part goes as it is (7bit) when it is ASCII with lines of
/// at most 998 octets and does not contain the boundary, else as quoted-printable. The boundary
/// starts with "=_", which quoted-printable output never contains.
/// </remarks>
public sealed class EncodedBody : MimeEntity
{
    /// <summary>RFC 5322 line limit, CRLF excluded.</summary>
    private const int MaxLine = 998;

    private static readonly byte[] Crlf = "\r\n"u8.ToArray();

    private readonly byte[] _content;

    private EncodedBody(ContentType type, byte[] content) : base(type) => _content = content;

    /// <summary>The encoded content after the body's own header block, CRLF line endings.</summary>
    public ReadOnlyMemory<byte> Content => _content;

    /// <summary>A single text/plain part.</summary>
    public static EncodedBody Text(string text)
    {
        var w = new ArrayBufferWriter<byte>(text.Length + 64);
        var quoted = WritePartContent(w, text, null);
        var body = new EncodedBody(new ContentType("text", "plain") { Charset = "utf-8" }, w.WrittenSpan.ToArray());
        if (quoted) body.Headers.Add(HeaderId.ContentTransferEncoding, "quoted-printable");
        return body;
    }

    /// <summary>multipart/alternative: the text, then the HTML (the preferred form goes last).</summary>
    public static EncodedBody Alternative(string text, string html, string boundary)
    {
        var w = new ArrayBufferWriter<byte>(text.Length + html.Length + 400);
        WritePart(w, boundary, "plain", text);
        WritePart(w, boundary, "html", html);
        WriteAscii(w, "--");
        WriteAscii(w, boundary);
        WriteAscii(w, "--\r\n");
        return new EncodedBody(new ContentType("multipart", "alternative") { Boundary = boundary }, w.WrittenSpan.ToArray());
    }

    /// <summary>A boundary no part can contain: "=_" never occurs in quoted-printable, and 7-bit parts are checked for it.</summary>
    public static string NewBoundary() => "=_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));

    private static void WritePart(ArrayBufferWriter<byte> w, string boundary, string subtype, string text)
    {
        WriteAscii(w, "--");
        WriteAscii(w, boundary);
        WriteAscii(w, "\r\nContent-Type: text/");
        WriteAscii(w, subtype);
        WriteAscii(w, "; charset=utf-8\r\n");
        // The header block is only known once the content has been looked at: write the content to a
        // scratch buffer first.
        var content = new ArrayBufferWriter<byte>(text.Length + 16);
        if (WritePartContent(content, text, boundary)) WriteAscii(w, "Content-Transfer-Encoding: quoted-printable\r\n");
        w.Write(Crlf);
        w.Write(content.WrittenSpan);
    }

    /// <summary>Writes the text as 7bit or quoted-printable, CRLF line endings, ending with CRLF. True when quoted-printable.</summary>
    private static bool WritePartContent(ArrayBufferWriter<byte> w, string text, string? boundary)
    {
        var rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(text.Length));
        try
        {
            var length = ToLfUtf8(text, rented);
            var input = rented.AsSpan(0, length);
            if (IsSevenBitClean(input, boundary))
            {
                WriteCrlf(w, input);
                return false;
            }
            var encoder = new QuotedPrintableEncoder();
            var output = ArrayPool<byte>.Shared.Rent(encoder.EstimateOutputLength(length) + 16);
            try
            {
                var n = encoder.Flush(rented, 0, length, output);
                WriteCrlf(w, output.AsSpan(0, n));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(output);
            }
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>UTF-8 with every line break (CRLF, bare CR, LF) as LF: the one form the encoder and the line check read.</summary>
    private static int ToLfUtf8(string text, byte[] buffer)
    {
        var n = Encoding.UTF8.GetBytes(text, buffer);
        var o = 0;
        for (var i = 0; i < n; i++)
        {
            var b = buffer[i];
            if (b == (byte)'\r')
            {
                if (i + 1 < n && buffer[i + 1] == (byte)'\n') continue;
                b = (byte)'\n';
            }
            buffer[o++] = b;
        }
        return o;
    }

    private static bool IsSevenBitClean(ReadOnlySpan<byte> s, string? boundary)
    {
        if (s.ContainsAnyExceptInRange((byte)1, (byte)127)) return false;
        for (var rest = s; ;)
        {
            var nl = rest.IndexOf((byte)'\n');
            if ((nl < 0 ? rest.Length : nl) > MaxLine) return false;
            if (nl < 0) break;
            rest = rest[(nl + 1)..];
        }
        return boundary is null || s.IndexOf(Encoding.ASCII.GetBytes(boundary)) < 0;
    }

    /// <summary>Copies LF-terminated lines as CRLF lines; the last line gets a CRLF too.</summary>
    private static void WriteCrlf(ArrayBufferWriter<byte> w, ReadOnlySpan<byte> lf)
    {
        while (!lf.IsEmpty)
        {
            var nl = lf.IndexOf((byte)'\n');
            var line = nl < 0 ? lf : lf[..nl];
            w.Write(line);
            w.Write(Crlf);
            lf = nl < 0 ? default : lf[(nl + 1)..];
        }
    }

    private static void WriteAscii(ArrayBufferWriter<byte> w, string s)
    {
        var span = w.GetSpan(s.Length);
        var n = Encoding.ASCII.GetBytes(s, span);
        w.Advance(n);
    }

    /// <summary>Already 7-bit clean with lines within the RFC 5322 limit: nothing to re-encode for any transport.</summary>
    public override void Prepare(EncodingConstraint constraint, int maxLineLength = 78)
    {
    }

    public override void WriteTo(FormatOptions options, Stream stream, bool contentOnly = false, CancellationToken cancellationToken = default)
    {
        base.WriteTo(options, stream, contentOnly, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        if (options.NewLineFormat == NewLineFormat.Dos)
        {
            stream.Write(_content);
            return;
        }
        using var filtered = new FilteredStream(stream);
        filtered.Add(new Dos2UnixFilter());
        filtered.Write(_content, 0, _content.Length, cancellationToken);
        filtered.Flush(cancellationToken);
    }

    public override async Task WriteToAsync(FormatOptions options, Stream stream, bool contentOnly = false, CancellationToken cancellationToken = default)
    {
        await base.WriteToAsync(options, stream, contentOnly, cancellationToken);
        if (options.NewLineFormat == NewLineFormat.Dos)
        {
            await stream.WriteAsync(_content, cancellationToken);
            return;
        }
        using var filtered = new FilteredStream(stream);
        filtered.Add(new Dos2UnixFilter());
        await filtered.WriteAsync(_content, 0, _content.Length, cancellationToken);
        await filtered.FlushAsync(cancellationToken);
    }
}
