using Herald.Hosting;
using Microsoft.Extensions.Options;

namespace Herald.Assets;

/// <summary>
/// Where media bytes live, by key. The default keeps them on disk under the data folder; an
/// S3-compatible store implements the same three calls and replaces the registration.
/// </summary>
public interface IMediaStore
{
    /// <summary>Stores <paramref name="content"/> under <paramref name="key"/> (keys are never reused).</summary>
    Task SaveAsync(string key, Stream content, CancellationToken ct);

    /// <summary>The bytes of <paramref name="key"/>, or null when they are gone.</summary>
    Task<Stream?> OpenReadAsync(string key, CancellationToken ct);

    Task DeleteAsync(string key, CancellationToken ct);
}

/// <summary>
/// Media on local disk: <c>{DataDirectory}/media/{first two characters of the key}/{key}</c> (the
/// fan-out keeps directories small). Written to a temporary name and moved, so a reader never sees half a file.
/// </summary>
public sealed class DiskMediaStore(IOptions<HeraldOptions> options) : IMediaStore
{
    private readonly string _root = Path.GetFullPath(Path.Combine(options.Value.DataDirectory, "media"));

    private string PathOf(string key)
    {
        // Keys are base64url; anything else never reaches the file system.
        if (key.Length < 8 || key.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
            throw new ArgumentException("Not a media key.", nameof(key));
        return Path.Combine(_root, key[..2], key);
    }

    public async Task SaveAsync(string key, Stream content, CancellationToken ct)
    {
        var path = PathOf(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".part";
        await using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            await content.CopyToAsync(f, ct);
        File.Move(temp, path, overwrite: true);
    }

    public Task<Stream?> OpenReadAsync(string key, CancellationToken ct)
    {
        var path = PathOf(key);
        Stream? s = File.Exists(path) ? new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true) : null;
        return Task.FromResult(s);
    }

    public Task DeleteAsync(string key, CancellationToken ct)
    {
        var path = PathOf(key);
        if (File.Exists(path)) File.Delete(path);
        return Task.CompletedTask;
    }
}
