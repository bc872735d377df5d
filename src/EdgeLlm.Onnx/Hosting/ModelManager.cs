using System.Diagnostics;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Resources;
using EdgeLlm.Onnx.Engine;
using EdgeLlm.Onnx.Store;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Onnx.Hosting;

/// <summary>
/// The node's local models through their life (docs/design.md §6): the folder of Models:Local and the models of
/// the store, pulled on demand or by command, loaded when a request needs them and memory allows, unloaded
/// when idle past Models:IdleUnloadMinutes. Pinned models (Models:Pinned, `model pin`, and Models:Local) are
/// obtained and loaded at start and stay. A store that cannot be opened leaves the node serving what it has.
/// </summary>
internal sealed partial class ModelManager : IModelProvider, IModelAcquisition, IModelCommands, IHostedService, IDisposable
{
    // How often idle models are looked for, and the store re-read for changes made by `edgellm model`.
    private static readonly TimeSpan HousekeepingInterval = TimeSpan.FromSeconds(30);

    private readonly ModelsOptions _options;
    private readonly NodeOptions _node;
    private readonly ModelCatalog _catalog;
    private readonly IResourceSnapshotSource _resources;
    private readonly TimeProvider _time;
    private readonly ILogger<ModelManager> _logger;
    private readonly HttpClient _http = new(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(15) }) { Timeout = Timeout.InfiniteTimeSpan };
    private readonly object _gate = new();
    private readonly Dictionary<string, Resident> _residents = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private FolderDescription? _local;
    private ModelStore? _store;
    private bool _localFailed;
    private volatile IReadOnlyList<CatalogModel> _present = [];
    private volatile IReadOnlyDictionary<string, CatalogModel> _fitting = new Dictionary<string, CatalogModel>();
    private Task _housekeeping = Task.CompletedTask;
    private int _disposed;

    public ModelManager(IOptions<ModelsOptions> options, IOptions<NodeOptions> node, ModelCatalog catalog, IResourceSnapshotSource resources, TimeProvider time, ILogger<ModelManager> logger)
    {
        _options = options.Value;
        _node = node.Value;
        _catalog = catalog;
        _resources = resources;
        _time = time;
        _logger = logger;
    }

    public IReadOnlyList<CatalogModel> AvailableModels =>
        [.. (_local is not null && !_localFailed ? [_local.Model] : Array.Empty<CatalogModel>()).Concat(_present).DistinctBy(m => m.Id, StringComparer.Ordinal)];

    // Models:Local's id: the catalog id its files show it to be, else its folder's name (resolved at start).
    private string? LocalId => _local?.Model.Id;

    // A model on the board as it is described (a folder's own description included), else its catalog entry.
    private CatalogModel? KnownAs(string modelId) => AvailableModels.FirstOrDefault(m => m.Id == modelId) ?? _catalog.Find(modelId);

    public IReadOnlyList<string> LoadedModelIds
    {
        get
        {
            lock (_gate)
            {
                return [.. _residents.Where(r => r.Value.Client is not null).Select(r => r.Key).Order(StringComparer.Ordinal)];
            }
        }
    }

    public IReadOnlyDictionary<string, double> Acquirable =>
        _store is not { } store || _options.OnDemand == OnDemandPolicies.Off
            ? new Dictionary<string, double>()
            : _fitting.Values.Where(store.HasSourceToTry).ToDictionary(m => m.Id, store.PredictAcquisitionMs, StringComparer.Ordinal);

    public IReadOnlyList<PullProgress> Pulls => _store?.Pulls ?? [];

    public async ValueTask<ModelLease?> GetAsync(string modelId, CancellationToken cancellationToken)
    {
        Resident? resident;
        lock (_gate)
        {
            if (_residents.TryGetValue(modelId, out resident))
            {
                resident.InUse++;
            }
        }

        if (resident is null)
        {
            string? folder = modelId == LocalId ? _options.Local : _store?.Find(modelId)?.Folder;
            if (folder is null && _store is not null && _catalog.Find(modelId) is { CanBePulled: true })
            {
                await EnsurePresentAsync(modelId, cancellationToken).ConfigureAwait(false);
                folder = _store.Find(modelId)?.Folder;
            }

            if (folder is null)
            {
                return null;
            }

            resident = Admit(modelId, folder);
        }

        try
        {
            var client = await resident.Loading.WaitAsync(cancellationToken).ConfigureAwait(false);
            _store?.Touch(modelId);
            return new ModelLease(modelId, client, () => Release(resident));
        }
        catch
        {
            Release(resident);
            throw;
        }
    }

    public async Task EnsurePresentAsync(string modelId, CancellationToken cancellationToken)
    {
        if (_store is null)
        {
            throw new ModelUnavailableException($"{modelId} is not on this board, and it has no model store (Models:StorePath {_options.StorePath} could not be opened)");
        }

        var model = _catalog.Find(modelId) ?? throw new ModelUnavailableException($"{modelId} is not in the catalog, so it cannot be pulled");
        try
        {
            await _store.PullAsync(model, () => LoadedModelIds, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Refresh();
        }
    }

    public void StartPull(string modelId) => _ = PullInBackgroundAsync(modelId);

    public async Task<string> PullAsync(string modelId, CancellationToken cancellationToken)
    {
        bool present = AvailableModels.Any(m => m.Id == modelId);
        if (!present)
        {
            await EnsurePresentAsync(modelId, cancellationToken).ConfigureAwait(false);
        }

        return present ? $"{modelId} is already on this board" : $"{modelId} pulled ({_store?.Find(modelId)?.Bytes ?? 0} bytes)";
    }

    public Task<string> UnloadAsync(string modelId, CancellationToken cancellationToken)
    {
        Resident? resident;
        lock (_gate)
        {
            if (!_residents.TryGetValue(modelId, out resident))
            {
                return Task.FromResult($"{modelId} was not loaded");
            }

            if (IsPinned(modelId))
            {
                throw new InvalidOperationException($"{modelId} is pinned, so it stays loaded: unpin it first");
            }

            if (resident.InUse > 0)
            {
                throw new InvalidOperationException($"{modelId} is answering a request; try again when it is done");
            }

            _residents.Remove(modelId);
        }

        Unload(modelId, resident, "by command");
        return Task.FromResult($"{modelId} unloaded");
    }

    public async Task<string> PinAsync(string modelId, CancellationToken cancellationToken)
    {
        var store = _store ?? throw new ModelUnavailableException($"this board has no model store (Models:StorePath {_options.StorePath} could not be opened)");
        if (modelId != LocalId && _catalog.Find(modelId) is null && store.Find(modelId) is null)
        {
            throw new ModelUnavailableException($"{modelId} is neither in the catalog nor on this board");
        }

        store.Pin(modelId);
        using var lease = await GetAsync(modelId, cancellationToken).ConfigureAwait(false);
        return $"{modelId} pinned: on this board and loaded";
    }

    public Task<string> UnpinAsync(string modelId, CancellationToken cancellationToken)
    {
        var store = _store ?? throw new ModelUnavailableException($"this board has no model store (Models:StorePath {_options.StorePath} could not be opened)");
        if (modelId == LocalId)
        {
            throw new InvalidOperationException($"{modelId} is the node's Models:Local, which always stays");
        }

        store.Unpin(modelId);
        return Task.FromResult($"{modelId} unpinned: it may be unloaded when idle and evicted when room is needed");
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.Local.Length > 0)
        {
            _local = FolderDescriber.Describe(_options.Local, _catalog, _node.Tier, byContents: true);
            Log.LocalDescribed(_logger, _options.Local, _local.Model.Id, _local.Basis);
        }

        OpenStore();
        if (LocalId is null && _store is null)
        {
            Log.NoModelConfigured(_logger);
        }

        // Models:Local first: requests wait for it while it loads.
        IEnumerable<string> pinned = LocalId is null ? [] : [LocalId];
        foreach (string id in pinned.Concat(_options.Pinned).Concat(_store?.List().Where(m => m.Pinned).Select(m => m.Id) ?? []).Distinct(StringComparer.Ordinal))
        {
            _ = KeepPinnedAsync(id);
        }

        _housekeeping = HousekeepAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    // Nothing may touch the store or load a model once stopped: pulls are cancelled (a download keeps its
    // part file to resume) and loads under way are waited for, so that Dispose frees every model.
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _housekeeping.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_store is not null)
        {
            await _store.CloseAsync().WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        Task[] loading;
        lock (_gate)
        {
            loading = [.. _residents.Values.Select(r => (Task)r.Loading)];
        }

        await Task.WhenAll(loading).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    // The container disposes it once for each service it is registered as.
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _stopping.Cancel();
        List<Resident> residents;
        lock (_gate)
        {
            residents = [.. _residents.Values];
            _residents.Clear();
        }

        foreach (var resident in residents)
        {
            resident.Dispose();
        }

        _stopping.Dispose();
        _store?.Dispose();
        _http.Dispose();
    }

    private void OpenStore()
    {
        try
        {
            _store = ModelStore.Open(_options.StorePath, (long)_options.DiskBudgetMb << 20, _options.Pinned, _http, _time, _logger);
            Refresh();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.StoreUnavailable(_logger, _options.StorePath, e.Message);
        }
    }

    private bool IsPinned(string modelId) => modelId == LocalId || _store?.IsPinned(modelId) == true;

    // Starts loading the model (once), counting the caller as its user; the load runs in the background.
    private Resident Admit(string modelId, string folder)
    {
        lock (_gate)
        {
            if (!_residents.TryGetValue(modelId, out var resident))
            {
                // Once stopped, nothing new loads: StopAsync has waited for the loads under way, and no more.
                _stopping.Token.ThrowIfCancellationRequested();
                MakeMemoryFor(modelId, folder);
                resident = new Resident(_time);
                resident.Loading = Task.Run(() => Load(modelId, folder, resident));
                _residents[modelId] = resident;
            }

            resident.InUse++;
            return resident;
        }
    }

    // Under _gate: unloads idle, unpinned models (least recently used first) until the model fits in
    // MemAvailable minus Models:MemoryReserveMb; ModelUnavailableException when it cannot fit.
    private void MakeMemoryFor(string modelId, string folder)
    {
        long need = KnownAs(modelId)?.RamBytes is long ram and > 0 ? ram : 2 * ByteSizes.OfFolder(folder);
        if (_resources.Latest.UsableMemoryBytes is not long usable)
        {
            return;
        }

        long free = usable - ((long)_options.MemoryReserveMb << 20);
        var idle = _residents.Where(r => r.Value.InUse == 0 && r.Value.Client is not null && !IsPinned(r.Key)).OrderBy(r => r.Value.LastUsed).ToList();
        var evicted = new List<string>();
        foreach (var (id, resident) in idle)
        {
            if (need <= free)
            {
                break;
            }

            _residents.Remove(id);
            Unload(id, resident, $"to make room for {modelId}");
            free += KnownAs(id)?.RamBytes ?? 0;
            evicted.Add(id);
        }

        if (need > free)
        {
            throw new ModelUnavailableException(
                $"{modelId} needs {need >> 20} MB of memory to load, but only {Math.Max(0, free) >> 20} MB are free past Models:MemoryReserveMb ({_options.MemoryReserveMb} MB), and the loaded models are pinned or in use");
        }
    }

    private LocalChatClient Load(string modelId, string folder, Resident resident)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            var model = LocalModel.Load(folder);
            resident.Attach(model, new LocalChatClient(model, _time));
            Log.Loaded(_logger, modelId, folder, clock.ElapsedMilliseconds);
            RecordLoaded();
            return resident.Client!;
        }
        catch (Exception e) when (e is ModelFileException or IOException or UnauthorizedAccessException or Microsoft.ML.OnnxRuntimeGenAI.OnnxRuntimeGenAIException)
        {
            Log.LoadFailed(_logger, modelId, folder, e.Message);
            lock (_gate)
            {
                _residents.Remove(modelId);
                _localFailed |= modelId == LocalId;
            }

            throw new ModelUnavailableException($"{modelId} could not be loaded from {folder}: {e.Message}", e);
        }
    }

    private void Release(Resident resident)
    {
        lock (_gate)
        {
            resident.InUse--;
            resident.LastUsed = _time.GetUtcNow();
        }
    }

    private void Unload(string modelId, Resident resident, string why)
    {
        resident.Dispose();
        Log.Unloaded(_logger, modelId, why);
        RecordLoaded();
    }

    private async Task KeepPinnedAsync(string modelId)
    {
        try
        {
            using var lease = await GetAsync(modelId, _stopping.Token).ConfigureAwait(false);
            if (lease is null)
            {
                Log.PinnedUnknown(_logger, modelId);
            }
        }
        catch (ModelUnavailableException e)
        {
            Log.PinnedUnavailable(_logger, modelId, e.Message);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    private async Task PullInBackgroundAsync(string modelId)
    {
        try
        {
            await EnsurePresentAsync(modelId, _stopping.Token).ConfigureAwait(false);
        }
        catch (ModelUnavailableException e)
        {
            Log.BackgroundPullFailed(_logger, modelId, e.Message);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    private async Task HousekeepAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(HousekeepingInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                UnloadIdle();
                Refresh();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void UnloadIdle()
    {
        if (_options.IdleUnloadMinutes == 0)
        {
            return;
        }

        var cutoff = _time.GetUtcNow() - TimeSpan.FromMinutes(_options.IdleUnloadMinutes);
        List<KeyValuePair<string, Resident>> idle;
        lock (_gate)
        {
            idle = [.. _residents.Where(r => r.Value.InUse == 0 && r.Value.Client is not null && r.Value.LastUsed <= cutoff && !IsPinned(r.Key))];
            foreach (var (id, _) in idle)
            {
                _residents.Remove(id);
            }
        }

        foreach (var (id, resident) in idle)
        {
            Unload(id, resident, $"idle for {_options.IdleUnloadMinutes} min");
        }
    }

    // Re-reads what the store holds and which absent catalog models of this tier would fit its budget.
    private void Refresh()
    {
        if (_store is not { } store)
        {
            return;
        }

        try
        {
            var stored = store.List();
            var present = stored.Select(m => m.Id).ToList();
            var loaded = LoadedModelIds;
            // A folder is named by its catalog id when the store installed it; one put there by hand may describe itself.
            _present = [.. stored.Select(m => FolderDescriber.Describe(m.Folder, _catalog, _node.Tier, byContents: false).Model with { Id = m.Id })];
            _fitting = _catalog.Models
                .Where(m => m.Tier == _node.Tier && m.CanBePulled && m.Id != LocalId && !present.Contains(m.Id) && store.CouldFit(m, loaded, stored))
                .ToDictionary(m => m.Id, StringComparer.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.StoreUnreadable(_logger, store.Root, e.Message);
        }
    }

    private void RecordLoaded()
    {
        try
        {
            _store?.RecordLoaded(LoadedModelIds);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.StoreUnreadable(_logger, _options.StorePath, e.Message);
        }
    }

    // A model in memory (or on its way there) and how many generations hold it.
    private sealed class Resident(TimeProvider time) : IDisposable
    {
        private LocalModel? _model;

        public Task<LocalChatClient> Loading { get; set; } = Task.FromException<LocalChatClient>(new InvalidOperationException("not loading"));

        public LocalChatClient? Client { get; private set; }

        public int InUse { get; set; }

        public DateTimeOffset LastUsed { get; set; } = time.GetUtcNow();

        public void Attach(LocalModel model, LocalChatClient client)
        {
            _model = model;
            Client = client;
        }

        public void Dispose()
        {
            Client?.Dispose();
            _model?.Dispose();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(2001, LogLevel.Information, "Model {Model} loaded from {Folder} in {ElapsedMs} ms")]
        public static partial void Loaded(ILogger logger, string model, string folder, long elapsedMs);

        [LoggerMessage(2002, LogLevel.Error, "Model {Model} could not be loaded from {Folder}, so requests for it are answered no-model: {Problem}")]
        public static partial void LoadFailed(ILogger logger, string model, string folder, string problem);

        [LoggerMessage(2003, LogLevel.Warning, "No model is configured (Models:Local) and there is no model store, so requests are answered no-model or escalated")]
        public static partial void NoModelConfigured(ILogger logger);

        [LoggerMessage(2004, LogLevel.Information, "Model {Model} unloaded ({Why})")]
        public static partial void Unloaded(ILogger logger, string model, string why);

        [LoggerMessage(2005, LogLevel.Error, "The model store at {StorePath} cannot be used, so no model is pulled: {Problem}")]
        public static partial void StoreUnavailable(ILogger logger, string storePath, string problem);

        [LoggerMessage(2006, LogLevel.Warning, "The model store at {StorePath} could not be read: {Problem}")]
        public static partial void StoreUnreadable(ILogger logger, string storePath, string problem);

        [LoggerMessage(2007, LogLevel.Error, "Pinned model {Model} is neither in the catalog nor on this board")]
        public static partial void PinnedUnknown(ILogger logger, string model);

        [LoggerMessage(2008, LogLevel.Error, "Pinned model {Model} cannot be had: {Problem}")]
        public static partial void PinnedUnavailable(ILogger logger, string model, string problem);

        [LoggerMessage(2009, LogLevel.Warning, "Background pull of {Model} failed; requests needing it are escalated meanwhile: {Problem}")]
        public static partial void BackgroundPullFailed(ILogger logger, string model, string problem);

        [LoggerMessage(2010, LogLevel.Information, "Models:Local {Folder} is served as {Model}: {Basis}")]
        public static partial void LocalDescribed(ILogger logger, string folder, string model, string basis);
    }
}
