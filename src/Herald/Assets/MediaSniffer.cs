using System.IO.Compression;
using System.Text;

namespace Herald.Assets;

/// <summary>What the bytes of an upload are: a content type WhatsApp accepts and its kind.</summary>
public sealed record SniffedType(string ContentType, string Kind, string Extension);

/// <summary>
/// Decides an upload's type from its first bytes (magic numbers), never from its name or the declared
/// Content-Type: a script renamed to photo.jpg is rejected. Covers the types WhatsApp's Cloud API takes as
/// header media: JPEG, PNG (GIF and WebP for push and email), MP4/3GPP, PDF and Office Open XML documents.
/// </summary>
public static class MediaSniffer
{
    /// <summary>Bytes the sniffer needs from the start of the file.</summary>
    public const int HeadBytes = 64;

    /// <summary>The type of the file, or null when it is none Herald accepts. <paramref name="file"/> must be seekable for zip-based documents.</summary>
    public static SniffedType? Detect(ReadOnlySpan<byte> head, Stream? file = null)
    {
        if (StartsWith(head, [0xFF, 0xD8, 0xFF])) return new("image/jpeg", MediaKinds.Image, ".jpg");
        if (StartsWith(head, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])) return new("image/png", MediaKinds.Image, ".png");
        if (StartsWith(head, "GIF87a"u8) || StartsWith(head, "GIF89a"u8)) return new("image/gif", MediaKinds.Image, ".gif");
        if (StartsWith(head, "RIFF"u8) && head.Length >= 12 && head[8..12].SequenceEqual("WEBP"u8)) return new("image/webp", MediaKinds.Image, ".webp");
        if (head.Length >= 12 && head[4..8].SequenceEqual("ftyp"u8))
        {
            var brand = Encoding.ASCII.GetString(head[8..12]);
            if (brand.StartsWith("3gp", StringComparison.Ordinal) || brand.StartsWith("3g2", StringComparison.Ordinal)) return new("video/3gpp", MediaKinds.Video, ".3gp");
            // QuickTime (.mov) and HEIF share the box layout but are not accepted by WhatsApp.
            if (brand is "qt  " or "heic" or "heix" or "mif1" or "msf1" or "avif") return null;
            return new("video/mp4", MediaKinds.Video, ".mp4");
        }
        if (StartsWith(head, "%PDF-"u8)) return new("application/pdf", MediaKinds.Document, ".pdf");
        if (StartsWith(head, [0x50, 0x4B, 0x03, 0x04]) && file is { CanSeek: true }) return OfficeDocument(file);
        return null;
    }

    private static bool StartsWith(ReadOnlySpan<byte> head, ReadOnlySpan<byte> magic) => head.Length >= magic.Length && head[..magic.Length].SequenceEqual(magic);

    /// <summary>A zip is accepted only as an Office Open XML document, told apart by its main part.</summary>
    private static SniffedType? OfficeDocument(Stream file)
    {
        var start = file.Position;
        try
        {
            using var zip = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true);
            var names = zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
            if (!names.Contains("[Content_Types].xml")) return null;
            if (names.Contains("word/document.xml"))
                return new("application/vnd.openxmlformats-officedocument.wordprocessingml.document", MediaKinds.Document, ".docx");
            if (names.Contains("xl/workbook.xml"))
                return new("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", MediaKinds.Document, ".xlsx");
            if (names.Contains("ppt/presentation.xml"))
                return new("application/vnd.openxmlformats-officedocument.presentationml.presentation", MediaKinds.Document, ".pptx");
            return null;
        }
        catch (InvalidDataException)
        {
            return null;
        }
        finally
        {
            file.Position = start;
        }
    }
}
