using System.IO.Compression;
using System.Net;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Assets;

/// <summary>Files with real magic bytes, and uploads through the API.</summary>
public static class AssetTestKit
{
    public static byte[] Png(int size = 64)
    {
        var b = new byte[size];
        Seeds.SamplePng.CopyTo(b, 0);
        return b;
    }

    public static byte[] Jpeg(int size = 64)
    {
        var b = new byte[size];
        b[0] = 0xFF; b[1] = 0xD8; b[2] = 0xFF; b[3] = 0xE0;
        return b;
    }

    /// <summary>An ISO base media file (MP4) header: size, 'ftyp', brand 'isom'.</summary>
    public static byte[] Mp4(int size = 64)
    {
        var b = new byte[size];
        b[3] = 0x20;
        "ftypisom"u8.CopyTo(b.AsSpan(4));
        return b;
    }

    public static byte[] Zip(params string[] entries)
    {
        var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var e in entries)
            {
                using var w = new StreamWriter(zip.CreateEntry(e).Open());
                w.Write("<x/>");
            }
        return ms.ToArray();
    }

    public static async Task<HttpResponseMessage> UploadAsync(HttpClient client, byte[] bytes, string fileName, string declaredType = "application/octet-stream")
    {
        using var form = new MultipartFormDataContent();
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(declaredType);
        form.Add(content, "file", fileName);
        return await client.PostAsync("/api/v1/media", form);
    }

    public static async Task<(string Id, string Url)> UploadOkAsync(HttpClient client, byte[] bytes, string fileName)
    {
        var j = await (await UploadAsync(client, bytes, fileName)).ExpectAsync(HttpStatusCode.Created);
        return (j.GetProperty("id").GetString()!, j.GetProperty("url").GetString()!);
    }
}
