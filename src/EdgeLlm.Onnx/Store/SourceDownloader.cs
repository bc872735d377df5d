using System.Net;
using System.Net.Http.Headers;
using EdgeLlm.Core.Catalog;
using Polly;
using Polly.Retry;

namespace EdgeLlm.Onnx.Store;

/// <summary>A source that could not be fetched, or whose bytes are not the ones the catalog names.</summary>
internal sealed class SourceException(string url, string reason) : Exception($"{url}: {reason}")
{
    public string Url { get; } = url;

    public string Reason { get; } = reason;

    /// <summary>True when the hub itself could not be reached: every hub source fails with it.</summary>
    public bool HubUnreachable { get; init; }
}

/// <summary>One file to fetch: where from, what it must hash to, and the credentials its server wants (sent to that host only).</summary>
internal sealed record DownloadRequest(string Url, ContentDigest Digest, AuthenticationHeaderValue? Authorization = null);

/// <summary>A verified download and its sha256 (whatever digest verified it).</summary>
internal sealed record Downloaded(string Path, string Sha256);

/// <summary>
/// Fetches one file of a model's sources into a downloads folder, named by its digest, verified. http(s)
/// sources are streamed to {name}.part and resumed with a Range request when a download broke off (within this
/// pull, a Polly retry with backoff; or in an earlier process), following redirects itself so that the
/// credentials never leave the host they are for; file URLs are copied the same way. The part file is held
/// exclusively, so two pulls never write one file.
/// </summary>
internal sealed class SourceDownloader(HttpClient http, TimeProvider time)
{
    /// <summary>Redirects followed for one request (the hub sends one, to its content store).</summary>
    public const int MaxRedirects = 5;

    /// <summary>How often a broken download is resumed within one fetch before the source counts as failed.</summary>
    public const int Attempts = 3;

    /// <summary>A source that sends nothing for this long counts as broken.</summary>
    public static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(30);

    private const int BufferBytes = 1 << 16;

    /// <summary>The verified file; <paramref name="progress"/> hears the bytes so far and the total when known.</summary>
    /// <param name="vouchedBy">Who named the digest, for the message when the bytes do not match it ("the catalog", "the hub").</param>
    public async Task<Downloaded> FetchAsync(DownloadRequest request, string downloads, string vouchedBy, Action<long, long?> progress, CancellationToken cancellationToken)
    {
        string verified = Path.Combine(downloads, request.Digest.FileName);
        Directory.CreateDirectory(downloads);
        if (File.Exists(verified))
        {
            await using var present = File.OpenRead(verified);
            return new Downloaded(verified, (await request.Digest.CheckAsync(present, cancellationToken).ConfigureAwait(false)).Sha256);
        }

        string part = verified + ".part";
        var uri = new Uri(request.Url);
        (string Sha256, string Actual, bool Matches) check;
        await using (var file = OpenPart(part, request.Url))
        {
            await ResumingWhileBytesCome(file).ExecuteAsync(
                async token => await (uri.IsFile ? CopyAsync(uri.LocalPath, file, progress, token) : DownloadAsync(uri, request.Authorization, file, progress, token)).ConfigureAwait(false),
                cancellationToken).ConfigureAwait(false);
            check = await request.Digest.CheckAsync(file, cancellationToken).ConfigureAwait(false);
        }

        if (!check.Matches)
        {
            File.Delete(part);
            throw new SourceException(request.Url, $"its {request.Digest.Name} is {check.Actual}, not {request.Digest.Hex} as {vouchedBy} says; the download was discarded");
        }

        File.Move(part, verified, overwrite: true);
        return new Downloaded(verified, check.Sha256);
    }

    // A download that broke off midway (some bytes kept) goes on from where it stopped, shortly, a few times;
    // one that never started is the source's failure.
    private ResiliencePipeline ResumingWhileBytesCome(FileStream file) =>
        new ResiliencePipelineBuilder { TimeProvider = time }.AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<SourceException>(_ => file.Length > 0),
            MaxRetryAttempts = Attempts - 1,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(200),
        }).Build();

    private static FileStream OpenPart(string part, string url)
    {
        try
        {
            return new FileStream(part, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, BufferBytes, useAsync: true);
        }
        catch (IOException e) when (File.Exists(part))
        {
            throw new SourceException(url, $"another pull is writing {part} ({e.Message})");
        }
    }

    private async Task DownloadAsync(Uri uri, AuthenticationHeaderValue? authorization, FileStream file, Action<long, long?> progress, CancellationToken cancellationToken)
    {
        long have = file.Length;
        using var response = await GetAsync(uri, authorization, have, cancellationToken).ConfigureAwait(false);
        uri = response.RequestMessage?.RequestUri ?? uri;
        {
            // Everything asked for is here already: the hash decides whether it is right.
            if (have > 0 && response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                return;
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new SourceException(uri.ToString(), $"answered HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
            }

            var headers = response.Content.Headers;
            // A server that ignores the range (200) or answers another one sends the whole file again.
            if (response.StatusCode != HttpStatusCode.PartialContent || headers.ContentRange?.From != have)
            {
                have = 0;
                file.SetLength(0);
            }

            long? total = headers.ContentRange?.Length ?? (headers.ContentLength is long length ? have + length : null);
            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                await CopyWithProgressAsync(body, file, have, total, uri.ToString(), progress, cancellationToken).ConfigureAwait(false);
            }

            if (total is long expected && file.Length < expected)
            {
                throw new SourceException(uri.ToString(), $"the connection closed after {file.Length} of {expected} bytes");
            }
        }
    }

    // GET from `have` on, following redirects: the credentials go to the host they were given for, not to the
    // content store it redirects to (whose signed address is its own credential).
    private async Task<HttpResponseMessage> GetAsync(Uri uri, AuthenticationHeaderValue? authorization, long have, CancellationToken cancellationToken)
    {
        string host = uri.Authority;
        for (int redirects = 0; ; redirects++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            if (have > 0)
            {
                request.Headers.Range = new RangeHeaderValue(have, null);
            }

            if (authorization is not null && uri.Authority == host)
            {
                request.Headers.Authorization = authorization;
            }

            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException e)
            {
                throw new SourceException(uri.ToString(), $"could not be reached ({e.Message})");
            }
            catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new SourceException(uri.ToString(), $"did not answer ({e.Message})");
            }

            if ((int)response.StatusCode is not (301 or 302 or 303 or 307 or 308) || response.Headers.Location is not Uri location)
            {
                return response;
            }

            response.Dispose();
            if (redirects == MaxRedirects)
            {
                throw new SourceException(uri.ToString(), $"redirected more than {MaxRedirects} times");
            }

            uri = location.IsAbsoluteUri ? location : new Uri(uri, location);
        }
    }

    private static async Task CopyAsync(string path, FileStream file, Action<long, long?> progress, CancellationToken cancellationToken)
    {
        FileStream source;
        try
        {
            source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferBytes, useAsync: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SourceException(new Uri(path).ToString(), $"cannot be read ({e.Message})");
        }

        await using (source.ConfigureAwait(false))
        {
            long have = Math.Min(file.Length, source.Length);
            source.Position = have;
            await CopyWithProgressAsync(source, file, have, source.Length, new Uri(path).ToString(), progress, cancellationToken).ConfigureAwait(false);
        }
    }

    // Appends from `have` on; a source silent past StallTimeout, or one that breaks, is a SourceException with the bytes kept.
    private static async Task CopyWithProgressAsync(Stream body, FileStream file, long have, long? total, string url, Action<long, long?> progress, CancellationToken cancellationToken)
    {
        file.Position = have;
        file.SetLength(have);
        byte[] buffer = new byte[BufferBytes];
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        while (true)
        {
            stall.CancelAfter(StallTimeout);
            int read;
            try
            {
                read = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new SourceException(url, $"sent nothing for {StallTimeout.TotalSeconds:F0} s after {file.Length} bytes");
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                throw new SourceException(url, $"the connection broke after {file.Length} bytes ({e.Message})");
            }

            if (read == 0)
            {
                return;
            }

            await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            progress(file.Length, total);
        }
    }
}
