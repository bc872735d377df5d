using System.Security.Cryptography;
using System.Text;

namespace EdgeLlm.Onnx.Store;

/// <summary>
/// What a download must hash to: a sha256 (the catalog's, or the hub's for a file kept in git LFS), or the
/// git blob sha1 the hub names a small file by (sha1 over "blob {length}\0" and the bytes).
/// </summary>
internal sealed record ContentDigest(string Algorithm, string Hex)
{
    public const string Sha256Algorithm = "sha256";
    public const string GitSha1Algorithm = "git-sha1";

    public static ContentDigest Sha256(string hex) => new(Sha256Algorithm, hex);

    public static ContentDigest GitSha1(string hex) => new(GitSha1Algorithm, hex);

    /// <summary>The verified download's file name in the downloads folder.</summary>
    public string FileName => Algorithm == Sha256Algorithm ? Hex : $"{Algorithm}-{Hex}";

    /// <summary>The algorithm as people say it.</summary>
    public string Name => Algorithm == Sha256Algorithm ? "sha256" : "git blob sha1";

    /// <summary>The file's sha256, its digest by this digest's algorithm, and whether that is this one.</summary>
    public async Task<(string Sha256, string Actual, bool Matches)> CheckAsync(Stream file, CancellationToken cancellationToken)
    {
        file.Position = 0;
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var sha1 = Algorithm == GitSha1Algorithm ? IncrementalHash.CreateHash(HashAlgorithmName.SHA1) : null;
        sha1?.AppendData(Encoding.ASCII.GetBytes($"blob {file.Length}\0"));
        byte[] buffer = new byte[1 << 16];
        int read;
        while ((read = await file.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            sha256.AppendData(buffer, 0, read);
            sha1?.AppendData(buffer, 0, read);
        }

        string fileSha256 = Convert.ToHexStringLower(sha256.GetHashAndReset());
        string actual = sha1 is null ? fileSha256 : Convert.ToHexStringLower(sha1.GetHashAndReset());
        return (fileSha256, actual, actual == Hex);
    }
}
