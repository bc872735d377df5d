using System.Collections.Concurrent;
using EdgeLlm.Core.Catalog;

namespace EdgeLlm.Onnx.Store;

/// <summary>
/// What past pulls have taught the store: the download and install rates measured so far, to predict the next
/// pull, and the sources that failed lately, not counted on for a while.
/// </summary>
internal sealed class SourceHistory(TimeProvider time)
{
    // Before a download has been measured: a slow link, so that the first estimates err towards escalation.
    private const double AssumedDownloadBytesPerSecond = 1 << 20;

    // Conversion and loading, per byte of the model, until measured.
    private const double AssumedInstallBytesPerSecond = 20 << 20;

    // A source that failed is not counted on for this long: the models it serves (every build of one
    // checkpoint shares its sources) are not offered for pulls on demand until it may answer again.
    private static readonly TimeSpan FailedSourceBackoff = TimeSpan.FromMinutes(5);

    // The key under which an unreachable hub fails every hub source at once.
    private const string Hub = "hf://";

    private readonly ConcurrentDictionary<string, DateTimeOffset> _failedUntil = new(StringComparer.Ordinal);
    private double _downloadBytesPerSecond = AssumedDownloadBytesPerSecond;
    private double _installBytesPerSecond = AssumedInstallBytesPerSecond;

    /// <summary>Predicted time (ms) to fetch what is left of <paramref name="modelBytes"/>, then convert and load it all.</summary>
    public double PredictMs(long modelBytes, long downloaded) =>
        (Math.Max(0, modelBytes - downloaded) / _downloadBytesPerSecond + modelBytes / _installBytesPerSecond) * 1000;

    /// <summary>Whether the source has not failed within the backoff: one worth a try.</summary>
    public bool MayAnswer(ModelSource source) => !FailedLately(source.Url) && !(source.Hub is not null && FailedLately(Hub));

    public void Downloaded(long bytes, TimeSpan took) => _downloadBytesPerSecond = Blend(_downloadBytesPerSecond, bytes / Math.Max(took.TotalSeconds, 1e-3));

    public void Installed(long bytes, TimeSpan took) => _installBytesPerSecond = Blend(_installBytesPerSecond, bytes / Math.Max(took.TotalSeconds, 1e-3));

    public void Succeeded(ModelSource source)
    {
        _failedUntil.TryRemove(source.Url, out _);
        if (source.Hub is not null)
        {
            _failedUntil.TryRemove(Hub, out _);
        }
    }

    /// <param name="hubUnreachable">True when the hub itself could not be reached, so that no other hub source is counted on either.</param>
    public void Failed(ModelSource source, bool hubUnreachable = false)
    {
        _failedUntil[source.Url] = time.GetUtcNow() + FailedSourceBackoff;
        if (hubUnreachable)
        {
            _failedUntil[Hub] = time.GetUtcNow() + FailedSourceBackoff;
        }
    }

    private bool FailedLately(string key) => _failedUntil.TryGetValue(key, out var until) && until > time.GetUtcNow();

    // Each measurement moves the estimate halfway: recent enough, steady enough.
    private static double Blend(double previous, double measured) => previous * 0.5 + measured * 0.5;
}
