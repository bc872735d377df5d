using System.Collections.Concurrent;
using System.Diagnostics;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Resources;
using Microsoft.Extensions.Logging;

namespace EdgeLlm.Onnx.Store;

/// <summary>A model folder in the store.</summary>
/// <param name="LastUsed">When it was installed or last answered with: the least recently used goes first.</param>
public sealed record StoredModel(string Id, string Folder, long Bytes, DateTimeOffset LastUsed, bool Pinned);

/// <summary>
/// The models on the board (docs/design.md §6), one folder each under Models:StorePath. The file system is its
/// whole state, so that the service and `edgellm model` commands can share it and a crash loses nothing:
/// a model is present when its folder is (folders only ever appear whole, by rename); its folder's time is
/// its last use; it is pinned when .pinned/{id} exists or the configuration pins it. Pulls fetch the sources
/// in order into .downloads (resumable), verify them, convert or unpack them beside the destination under a
/// hidden name, and rename the result into place; one pull per model at a time, however many ask.
/// </summary>
public sealed partial class ModelStore : IDisposable
{
    private const string DownloadsFolder = ".downloads";
    private const string PinsFolder = ".pinned";
    private const string LoadedFile = ".loaded";

    private readonly ModelInstaller _installer;
    private readonly SourceDownloader _downloader;
    private readonly HubClient _hub;
    private readonly ISysFs _system;
    private readonly HashSet<string> _configuredPins;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Lazy<Task<StoredModel>>> _pulls = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PullProgress> _progress = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _closing = new();
    private readonly DiskBudget _budget;
    private readonly SourceHistory _history;

    private ModelStore(string root, long budgetBytes, IEnumerable<string> configuredPins, SourceDownloader downloader, HubClient hub, ISysFs system, TimeProvider time, ILogger logger)
    {
        _hub = hub;
        _system = system;
        Root = root;
        _budget = new DiskBudget(budgetBytes);
        _history = new SourceHistory(time);
        _configuredPins = [.. configuredPins];
        _downloader = downloader;
        _installer = new ModelInstaller(root);
        _time = time;
        _logger = logger;
    }

    public string Root { get; }

    public long BudgetBytes => _budget.Bytes;

    /// <summary>The pulls under way.</summary>
    public IReadOnlyList<PullProgress> Pulls => [.. _progress.Values.OrderBy(p => p.ModelId, StringComparer.Ordinal)];

    /// <summary>
    /// Opens (creating) the store at <paramref name="root"/> and clears what an interrupted install left
    /// behind; downloads in progress stay, to be resumed. Throws IOException or UnauthorizedAccessException
    /// when the folder cannot be made or written.
    /// </summary>
    /// <param name="budgetBytes">Disk the store may fill; 0 for no budget.</param>
    /// <param name="http">Downloads and hub requests; it must not follow redirects itself (<see cref="CreateHttpHandler"/>).</param>
    /// <param name="system">procfs, where a running node's process is looked for.</param>
    public static ModelStore Open(string root, long budgetBytes, IEnumerable<string> configuredPins, HttpClient http, HubSettings hub, ISysFs system, TimeProvider time, ILogger logger)
    {
        Directory.CreateDirectory(root);
        Directory.CreateDirectory(Path.Combine(root, DownloadsFolder));
        Directory.CreateDirectory(Path.Combine(root, PinsFolder));
        foreach (string leftover in ModelInstaller.Leftovers(root))
        {
            Log.LeftoverRemoved(logger, leftover);
            Directory.Delete(leftover, recursive: true);
        }

        return new ModelStore(Path.GetFullPath(root), budgetBytes, configuredPins, new SourceDownloader(http, time), new HubClient(http, hub), system, time, logger);
    }

    /// <summary>
    /// The handler the store's HttpClient needs: redirects are the store's to follow (the hub's metadata is on the
    /// redirect itself, and credentials must not follow it to another host); a dead address fails fast.
    /// </summary>
    public static SocketsHttpHandler CreateHttpHandler() => new() { AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(15) };

    /// <summary>The models present, least recently used first.</summary>
    public IReadOnlyList<StoredModel> List() =>
        [.. new DirectoryInfo(Root).EnumerateDirectories()
            .Where(d => !d.Name.StartsWith('.'))
            .Select(Describe)
            .OrderBy(m => m.LastUsed)];

    public StoredModel? Find(string id) =>
        IsSafeId(id) && new DirectoryInfo(Path.Combine(Root, id)) is { Exists: true } folder ? Describe(folder) : null;

    /// <summary>Pinned by the configuration (Models:Pinned) or by `edgellm model pin`: never evicted.</summary>
    public bool IsPinned(string id) => _configuredPins.Contains(id) || File.Exists(PinPath(id));

    public void Pin(string id) => File.WriteAllBytes(PinPath(id), []);

    /// <summary>Removes a pin made by `model pin`; a pin of the configuration stays (ModelCommandException).</summary>
    public void Unpin(string id)
    {
        if (_configuredPins.Contains(id))
        {
            throw new ModelCommandException($"{id} is pinned by the configuration (Models:Pinned): change it there");
        }

        File.Delete(PinPath(id));
    }

    /// <summary>Marks the model used now, so that it is evicted last: one timestamp, on every request it answers.</summary>
    public void Touch(string id)
    {
        string folder = Path.Combine(Root, id);
        if (IsSafeId(id) && Directory.Exists(folder))
        {
            Directory.SetLastWriteTimeUtc(folder, _time.GetUtcNow().UtcDateTime);
        }
    }

    /// <summary>Deletes the model's folder (and its `model pin`); a pin of the configuration is refused (ModelCommandException).</summary>
    public bool Remove(string id)
    {
        if (_configuredPins.Contains(id))
        {
            throw new ModelCommandException($"{id} is pinned by the configuration (Models:Pinned), so it stays");
        }

        File.Delete(PinPath(id));
        if (Find(id) is not { } model)
        {
            return false;
        }

        // Renamed away first, so that no reader ever sees half a folder.
        string doomed = ModelInstaller.StagingPath(Root, id);
        Directory.Move(model.Folder, doomed);
        Directory.Delete(doomed, recursive: true);
        return true;
    }

    /// <summary>Predicted time (ms) to pull, convert and load the model, from its size and the rates measured so far.</summary>
    public double PredictAcquisitionMs(CatalogModel model)
    {
        long downloaded = _progress.TryGetValue(model.Id, out var progress) ? progress.Bytes : 0;
        return _history.PredictMs(model.Bytes, downloaded);
    }

    /// <summary>Whether the model has a source that has not failed within the last few minutes: one worth a pull on demand.</summary>
    public bool HasSourceToTry(CatalogModel model) => model.Sources.Any(_history.MayAnswer);

    /// <summary>Whether the model could fit in the budget beside <paramref name="present"/> (as <see cref="List"/> gave it) by evicting unpinned models other than <paramref name="keep"/>.</summary>
    public bool CouldFit(CatalogModel model, IReadOnlyCollection<string> keep, IReadOnlyList<StoredModel> present) => _budget.Evictions(model.Id, model.Bytes, keep, present) is not null;

    /// <summary>A pull ended (once, however many callers shared it): the model's id, and what it stored (null when it failed or was stopped).</summary>
    public event Action<string, StoredModel?>? PullEnded;

    /// <summary>The model's folder, pulled when absent; many callers share one pull. Throws ModelUnavailableException naming each source and its failure.</summary>
    /// <param name="keep">Models that must not be evicted to make room (those loaded).</param>
    public Task<StoredModel> PullAsync(CatalogModel model, Func<IReadOnlyCollection<string>> keep, CancellationToken cancellationToken)
    {
        if (Find(model.Id) is { } present)
        {
            return Task.FromResult(present);
        }

        var pull = _pulls.GetOrAdd(model.Id, _ => new Lazy<Task<StoredModel>>(() => Task.Run(() => PullOnceAsync(model, keep))));
        return pull.Value.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Stops the pulls under way and waits for them to let go of the store's files: a download keeps its part
    /// file for the next pull to resume, a conversion leaves a hidden folder the next Open removes.
    /// </summary>
    public async Task CloseAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_pulls.Values.Select(p => (Task)p.Value)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose() => _closing.Dispose();

    /// <summary>Records which models a running node holds in memory, for `edgellm model list`.</summary>
    public void RecordLoaded(IEnumerable<string> ids)
    {
        string file = Path.Combine(Root, LoadedFile);
        string temporary = $"{file}.{Environment.ProcessId}";
        File.WriteAllLines(temporary, [Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), .. ids]);
        File.Move(temporary, file, overwrite: true);
    }

    /// <summary>The models the node that last recorded them holds, when that process still runs; else none.</summary>
    public IReadOnlyList<string> LoadedByRunningNode()
    {
        try
        {
            string[] lines = File.ReadAllLines(Path.Combine(Root, LoadedFile));
            return lines.Length > 0 && int.TryParse(lines[0], out int pid) && _system.TryReadText($"proc/{pid}/stat", out _) ? lines[1..] : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private async Task<StoredModel> PullOnceAsync(CatalogModel model, Func<IReadOnlyCollection<string>> keep)
    {
        StoredModel? stored = null;
        try
        {
            stored = await PullSourcesAsync(model, keep).ConfigureAwait(false);
            return stored;
        }
        finally
        {
            _progress.TryRemove(model.Id, out _);
            _pulls.TryRemove(model.Id, out _);
            PullEnded?.Invoke(model.Id, stored);
        }
    }

    private async Task<StoredModel> PullSourcesAsync(CatalogModel model, Func<IReadOnlyCollection<string>> keep)
    {
        if (!IsSafeId(model.Id))
        {
            throw new ModelUnavailableException($"{model.Id} cannot be stored: a model id must be a plain file name");
        }

        if (!model.CanBePulled)
        {
            throw new ModelUnavailableException($"{model.Id} cannot be pulled: the catalog gives it no source to download");
        }

        if (_budget.Evictions(model.Id, model.Bytes, keep(), List()) is null)
        {
            throw new ModelUnavailableException(_budget.NoRoom(model.Id, model.Bytes, keep(), List()));
        }

        var failures = new List<string>();
        foreach (var source in model.Sources)
        {
            try
            {
                var clock = Stopwatch.StartNew();
                var (install, downloads) = source.Hub is { } hub ? await FetchHubAsync(model, hub).ConfigureAwait(false) : await FetchUrlAsync(model, source).ConfigureAwait(false);
                _history.Downloaded(downloads.Sum(d => new FileInfo(d.Path).Length), clock.Elapsed);

                clock.Restart();
                MakeRoom(model.Id, model.Bytes, keep());
                string folder = install();
                _history.Installed(model.Bytes, clock.Elapsed);
                DiscardDownloads(model, downloads);
                var stored = Find(model.Id) ?? throw new IOException($"{folder} vanished after it was installed");
                Log.Installed(_logger, model.Id, source.Url, stored.Bytes, clock.ElapsedMilliseconds);
                _history.Succeeded(source);
                return stored;
            }
            catch (SourceException e)
            {
                Log.SourceFailed(_logger, model.Id, e.Url, e.Reason);
                failures.Add(e.Message);
                _history.Failed(source, e.HubUnreachable);
            }
            catch (ModelFileException e)
            {
                Log.SourceFailed(_logger, model.Id, source.Url, e.Message);
                failures.Add($"{source.Url}: could not be converted ({e.Message})");
                _history.Failed(source);
            }
        }

        throw new ModelUnavailableException($"{model.Id} could not be pulled: {string.Join("; ", failures)}");
    }

    // The checkpoint (and a llama2c model's tokenizer) from their URLs, verified by the catalog's sha256.
    private async Task<(Func<string> Install, IReadOnlyList<(string Url, string Path)> Downloads)> FetchUrlAsync(CatalogModel model, ModelSource source)
    {
        var file = await FetchAsync(model.Id, new DownloadRequest(source.Url, ContentDigest.Sha256(source.Sha256)), "the catalog").ConfigureAwait(false);
        var tokenizer = source.Tokenizer is { } tokenizerSource
            ? await FetchAsync(model.Id, new DownloadRequest(tokenizerSource.Url, ContentDigest.Sha256(tokenizerSource.Sha256)), "the catalog").ConfigureAwait(false)
            : null;
        List<(string, string)> downloads = [(source.Url, file.Path), .. tokenizer is null ? [] : new[] { (source.Tokenizer!.Url, tokenizer.Path) }];
        return (() => _installer.Install(model, file.Path, tokenizer?.Path, _closing.Token), downloads);
    }

    // Each listed file of the repository at one commit, verified by the catalog's sha256 or the hub's hashes.
    private async Task<(Func<string> Install, IReadOnlyList<(string Url, string Path)> Downloads)> FetchHubAsync(CatalogModel model, HubSource hub)
    {
        var files = await _hub.ResolveAsync(hub, _closing.Token).ConfigureAwait(false);
        var fetched = new Dictionary<string, string>(StringComparer.Ordinal);
        var receipt = new Dictionary<string, ReceiptFile>(StringComparer.Ordinal);
        var downloads = new List<(string, string)>();
        foreach (var file in files)
        {
            var download = await FetchAsync(model.Id, file.Download, file.Vouched).ConfigureAwait(false);
            fetched[file.Path] = download.Path;
            receipt[file.Path] = new ReceiptFile(download.Sha256, $"{file.Vouched}'s {file.Download.Digest.Algorithm}");
            downloads.Add((file.Download.Url, download.Path));
        }

        var sourceReceipt = new SourceReceipt(hub.Address, hub.Revision, files[0].Commit, receipt);
        return (() => _installer.InstallFiles(model, fetched, sourceReceipt, _closing.Token), downloads);
    }

    private async Task<Downloaded> FetchAsync(string id, DownloadRequest request, string vouchedBy)
    {
        var logged = _time.GetTimestamp();
        Log.Fetching(_logger, id, request.Url);
        _progress[id] = new PullProgress(id, request.Url, 0, null);
        return await _downloader.FetchAsync(request, Path.Combine(Root, DownloadsFolder), vouchedBy, (bytes, total) =>
        {
            _progress[id] = new PullProgress(id, request.Url, bytes, total);
            if (_time.GetElapsedTime(logged) >= TimeSpan.FromSeconds(5))
            {
                logged = _time.GetTimestamp();
                Log.Progress(_logger, id, bytes, total ?? -1);
            }
        }, _closing.Token).ConfigureAwait(false);
    }

    // The verified downloads are not needed once installed, unless another pull under way uses the same file.
    private void DiscardDownloads(CatalogModel model, IEnumerable<(string Url, string Path)> downloads)
    {
        foreach (var (url, path) in downloads)
        {
            bool shared = _pulls.Keys.Any(other => other != model.Id && _progress.TryGetValue(other, out var p) && p.Source == url);
            if (!shared)
            {
                File.Delete(path);
            }
        }
    }

    // Evicts least recently used, unpinned models not in keep until the model fits; ModelUnavailableException when it cannot.
    private void MakeRoom(string id, long bytes, IReadOnlyCollection<string> keep)
    {
        var present = List();
        var evictions = _budget.Evictions(id, bytes, keep, present) ?? throw new ModelUnavailableException(_budget.NoRoom(id, bytes, keep, present));
        foreach (var model in evictions)
        {
            Log.Evicted(_logger, model.Id, model.Bytes, id);
            Remove(model.Id);
        }
    }

    private StoredModel Describe(DirectoryInfo folder) =>
        new(folder.Name, folder.FullName, ByteSizes.OfFolder(folder.FullName), new DateTimeOffset(folder.LastWriteTimeUtc, TimeSpan.Zero), IsPinned(folder.Name));

    private string PinPath(string id) =>
        IsSafeId(id) ? Path.Combine(Root, PinsFolder, id) : throw new ArgumentException($"'{id}' is not a model id (a plain file name)");

    // Ids name folders: no separators, no dot files, nothing that climbs out of the store.
    private static bool IsSafeId(string id) =>
        id.Length is > 0 and <= 128 && !id.StartsWith('.') && id.IndexOfAny([.. Path.GetInvalidFileNameChars(), '\\']) < 0;
}
