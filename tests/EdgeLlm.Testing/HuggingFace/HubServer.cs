using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace EdgeLlm.Tests.HuggingFace;

/// <summary>
/// A Hugging Face hub on loopback, as huggingface_hub sees the real one: /{repo}/resolve/{revision}/{path}
/// answers a HEAD or GET with X-Repo-Commit; a file kept in git LFS (a .safetensors, .onnx or .data file)
/// redirects (302) to a content store on another port, with its sha256 in
/// X-Linked-Etag; any other file is served at once with its git blob sha1 as ETag. A gated repository
/// answers 401 without its token. The content store resumes with Range and can cut a download off.
/// </summary>
/// <param name="contentStore">Where LFS files are served from (another port, so another host to a client); the caller's to dispose.</param>
public sealed class HubServer(ModelSourceServer contentStore) : LoopbackHttpServer
{
    private readonly ConcurrentDictionary<string, Repository> _repositories = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _requests = new();

    public ModelSourceServer ContentStore => contentStore;

    /// <summary>"{method} {path}" of every request to the hub itself, in order.</summary>
    public IReadOnlyList<string> Requests => [.. _requests];

    /// <summary>Publishes <paramref name="files"/> (repository path → bytes) as <paramref name="repo"/> at a commit of its own; returns the commit.</summary>
    /// <param name="token">The token a gated repository wants; null for a public one.</param>
    public string Publish(string repo, IReadOnlyDictionary<string, byte[]> files, string? token = null)
    {
        string commit = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));
        _repositories[repo] = new Repository(commit, files.ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal), token);
        foreach (var (path, content) in files.Where(f => IsLfs(f.Key)))
        {
            ContentStore.Serve(Sha256(content), content);
        }

        return commit;
    }

    /// <summary>The hub goes on naming <paramref name="path"/>'s hashes as published, but serves <paramref name="bytes"/> for it.</summary>
    public void Tamper(string repo, string path, byte[] bytes)
    {
        var repository = _repositories[repo];
        if (IsLfs(path))
        {
            ContentStore.Serve(Sha256(repository.Files[path]), bytes);
        }
        else
        {
            repository.Served[path] = bytes;
        }
    }

    public static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    protected override Task HandleAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        string path = request.Url!.AbsolutePath;
        _requests.Enqueue($"{request.HttpMethod} {path}");
        // /{owner}/{name}/resolve/{revision}/{file path}
        string[] parts = path.TrimStart('/').Split('/', 5);
        if (parts.Length < 5 || parts[2] != "resolve" || !_repositories.TryGetValue($"{parts[0]}/{parts[1]}", out var repository))
        {
            return Answer(response, HttpStatusCode.NotFound);
        }

        if (repository.Token is string token && request.Headers["Authorization"] != $"Bearer {token}")
        {
            return Answer(response, HttpStatusCode.Unauthorized);
        }

        string file = Uri.UnescapeDataString(parts[4]);
        if ((parts[3] != "main" && parts[3] != repository.Commit) || !repository.Files.TryGetValue(file, out byte[]? content))
        {
            return Answer(response, HttpStatusCode.NotFound);
        }

        response.Headers["X-Repo-Commit"] = repository.Commit;
        if (IsLfs(file))
        {
            response.StatusCode = (int)HttpStatusCode.Found;
            response.Headers["X-Linked-Etag"] = $"\"{Sha256(content)}\"";
            response.Headers["X-Linked-Size"] = content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
            response.Headers["Location"] = $"{ContentStore.BaseUrl}/{Sha256(content)}";
            response.Close();
            return Task.CompletedTask;
        }

        byte[] served = repository.Served.TryGetValue(file, out byte[]? tampered) ? tampered : content;
        response.Headers["ETag"] = $"\"{GitBlobSha1(content)}\"";
        response.ContentLength64 = served.Length;
        if (request.HttpMethod == "GET")
        {
            response.OutputStream.Write(served);
        }

        response.Close();
        return Task.CompletedTask;
    }

    private static Task Answer(HttpListenerResponse response, HttpStatusCode status)
    {
        response.StatusCode = (int)status;
        response.Close();
        return Task.CompletedTask;
    }

    private static bool IsLfs(string path) => Path.GetExtension(path) is ".safetensors" or ".onnx" or ".data";

    // git names a blob by the sha1 of "blob {length}\0" and its bytes: the hub's ETag for files outside LFS.
#pragma warning disable CA5350
    private static string GitBlobSha1(byte[] content) =>
        Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {content.Length}\0"), .. content]));
#pragma warning restore CA5350

    private sealed record Repository(string Commit, Dictionary<string, byte[]> Files, string? Token)
    {
        public ConcurrentDictionary<string, byte[]> Served { get; } = new(StringComparer.Ordinal);
    }
}
