using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;

namespace EdgeLlm.Worker.Dashboard;

/// <summary>One file of the page, embedded in the program: no CDN, nothing to install beside it.</summary>
internal sealed class PageAsset(byte[] content, string contentType)
{
    private readonly string _etag = $"\"{Convert.ToHexString(SHA256.HashData(content))[..16]}\"";

    public async Task WriteAsync(HttpContext context)
    {
        var response = context.Response;
        // The version's assets never change while it runs; a new version's have a new tag.
        response.Headers.ETag = _etag;
        response.Headers.CacheControl = "no-cache";
        if (context.Request.Headers.IfNoneMatch == _etag)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        response.ContentType = contentType;
        response.ContentLength = content.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(content).ConfigureAwait(false);
        }
    }
}

/// <summary>The page's files (Dashboard/Assets), by the path the browser asks for.</summary>
internal static class PageAssets
{
    private static readonly Dictionary<string, PageAsset> Assets = new(StringComparer.Ordinal)
    {
        ["/"] = Load("index.html", "text/html; charset=utf-8"),
        ["/fleet.js"] = Load("fleet.js", "text/javascript; charset=utf-8"),
        ["/fleet.css"] = Load("fleet.css", "text/css; charset=utf-8"),
    };

    public static PageAsset? Find(string path) => Assets.GetValueOrDefault(path == "/index.html" ? "/" : path);

    private static PageAsset Load(string name, string contentType)
    {
        using var stream = typeof(PageAssets).Assembly.GetManifestResourceStream($"EdgeLlm.Worker.Dashboard.Assets.{name}")
            ?? throw new InvalidOperationException($"the page asset {name} is not embedded");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return new PageAsset(copy.ToArray(), contentType);
    }
}
