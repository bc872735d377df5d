using System.Net;
using System.Net.Http.Headers;
using EdgeLlm.Core.Catalog;

namespace EdgeLlm.Onnx.Store;

/// <summary>
/// Where the Hugging Face hub is and who the node is there, as huggingface_hub finds them: Models:HfEndpoint,
/// else HF_ENDPOINT, else https://huggingface.co; the token in HF_TOKEN, else in the file Models:HfTokenFile,
/// HF_TOKEN_PATH or $HF_HOME/token (~/.cache/huggingface/token) names.
/// </summary>
public sealed record HubSettings(Uri Endpoint, string? Token)
{
    public const string DefaultEndpoint = "https://huggingface.co";

    public static HubSettings Resolve(string? endpoint, string? tokenFile)
    {
        string address = endpoint is { Length: > 0 } ? endpoint : Environment.GetEnvironmentVariable("HF_ENDPOINT") is { Length: > 0 } fromEnvironment ? fromEnvironment : DefaultEndpoint;
        string home = Environment.GetEnvironmentVariable("HF_HOME") is { Length: > 0 } hfHome ? hfHome
            : Path.Combine(Environment.GetEnvironmentVariable("HOME") ?? "/nonexistent", ".cache", "huggingface");
        string? token = Environment.GetEnvironmentVariable("HF_TOKEN") is { Length: > 0 } direct ? direct
            : ReadToken(tokenFile is { Length: > 0 } ? tokenFile : Environment.GetEnvironmentVariable("HF_TOKEN_PATH") is { Length: > 0 } path ? path : Path.Combine(home, "token"));
        return new HubSettings(new Uri(address.TrimEnd('/') + "/"), token);
    }

    private static string? ReadToken(string file)
    {
        try
        {
            return File.Exists(file) ? File.ReadLines(file).FirstOrDefault()?.Trim() is { Length: > 0 } token ? token : null : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>A file of a hub repository, resolved: where to fetch it, the commit it is at, and what it must hash to.</summary>
/// <param name="Vouched">"the catalog" when the digest is the catalog's, else "the hub".</param>
internal sealed record HubFile(string Path, DownloadRequest Download, string Commit, string Vouched);

/// <summary>
/// Resolves files of a hub repository as huggingface_hub does: a HEAD of {endpoint}/{repo}/resolve/{revision}/{path},
/// not followed, whose X-Repo-Commit is the commit, X-Linked-Etag the sha256 of a file kept in git LFS and ETag
/// the git blob sha1 of any other. The first file fixes the commit; the others are resolved at that commit, so
/// that a branch moving midway cannot mix two versions.
/// </summary>
internal sealed class HubClient(HttpClient http, HubSettings settings)
{
    public async Task<IReadOnlyList<HubFile>> ResolveAsync(HubSource source, CancellationToken cancellationToken)
    {
        var files = new List<HubFile>();
        string revision = source.Revision;
        foreach (string file in source.Files)
        {
            var resolved = await ResolveAsync(source, revision, file, cancellationToken).ConfigureAwait(false);
            revision = resolved.Commit;
            files.Add(resolved);
        }

        return files;
    }

    private async Task<HubFile> ResolveAsync(HubSource source, string revision, string file, CancellationToken cancellationToken)
    {
        var url = ResolveUrl(source, revision, file);
        var authorization = settings.Token is string token ? new AuthenticationHeaderValue("Bearer", token) : null;
        using var request = new HttpRequestMessage(HttpMethod.Head, url);
        request.Headers.Authorization = authorization;
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new SourceException(source.Address, $"the hub at {settings.Endpoint} could not be reached ({e.Message})") { HubUnreachable = true };
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SourceException(source.Address, $"the hub at {settings.Endpoint} did not answer ({e.Message})") { HubUnreachable = true };
        }

        using (response)
        {
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                throw new SourceException(source.Address, settings.Token is null
                    ? $"is gated or private (HTTP {(int)response.StatusCode}): set HF_TOKEN, or put a token in Models:HfTokenFile, having accepted the model's licence on the hub"
                    : $"refused the token (HTTP {(int)response.StatusCode}): has its owner accepted the model's licence on the hub?");
            }

            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                throw new SourceException(source.Address, $"has no file {source.PathOf(file)} at {revision}");
            }

            if ((int)response.StatusCode >= 400)
            {
                throw new SourceException(source.Address, $"answered HTTP {(int)response.StatusCode} {response.ReasonPhrase} for {source.PathOf(file)}");
            }

            string commit = Header(response, "X-Repo-Commit") ?? revision;
            ContentDigest digest;
            string vouched;
            if (source.Sha256.TryGetValue(file, out string? listed))
            {
                (digest, vouched) = (ContentDigest.Sha256(listed), "the catalog");
            }
            else if (Header(response, "X-Linked-Etag") is string lfs && IsHex(lfs, 64))
            {
                (digest, vouched) = (ContentDigest.Sha256(lfs), "the hub");
            }
            else if (response.Headers.ETag?.Tag.Trim('"') is string blob && IsHex(blob, 40))
            {
                (digest, vouched) = (ContentDigest.GitSha1(blob), "the hub");
            }
            else
            {
                throw new SourceException(source.Address, $"names no hash for {source.PathOf(file)} (no X-Linked-Etag or ETag), and the catalog gives none: it cannot be verified");
            }

            return new HubFile(file, new DownloadRequest(ResolveUrl(source, commit, file).ToString(), digest, authorization), commit, vouched);
        }
    }

    private Uri ResolveUrl(HubSource source, string revision, string file) =>
        new(settings.Endpoint, $"{source.Repo}/resolve/{Uri.EscapeDataString(revision)}/{string.Join('/', source.PathOf(file).Split('/').Select(Uri.EscapeDataString))}");

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault()?.Trim('"').Trim() : null;

    private static bool IsHex(string value, int length) => value.Length == length && value.All(char.IsAsciiHexDigitLower);
}
