using System.Diagnostics;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Resources;
using EdgeLlm.Onnx.Engine;
using EdgeLlm.Onnx.Store;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Onnx.Hosting;

/// <summary>
/// The models in memory (or on their way there) and the generations that hold them. A model is loaded once,
/// however many ask, when it fits in the memory left (MemAvailable minus Models:MemoryReserveMb) after idle,
/// unpinned models have been unloaded to make room, least recently used first. What a model is counted as
/// needing when it loads is what its unloading frees. Native memory is freed outside the lock.
/// </summary>
internal sealed class ResidentModels(IResourceSnapshotSource resources, IOptions<Core.Options.ModelsOptions> options, IOptions<Core.Options.ConversationsOptions> conversations, Core.Telemetry.NodeMetrics metrics, TimeProvider time, ILogger<ResidentModels> logger) : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Resident> _residents = new(StringComparer.Ordinal);

    /// <summary>The models in memory changed (loaded or unloaded): their ids.</summary>
    public event Action<IReadOnlyList<string>>? LoadedChanged;

    /// <summary>A model could not be loaded from its folder: its id.</summary>
    public event Action<string>? LoadFailed;

    public IReadOnlyList<string> LoadedIds
    {
        get
        {
            lock (_gate)
            {
                return [.. _residents.Where(r => r.Value.Loading.IsCompletedSuccessfully).Select(r => r.Key).Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>What a model is counted as needing in memory: its catalog RAM when known, else twice its folder.</summary>
    public static long Estimate(long? catalogRamBytes, string folder) => catalogRamBytes is long ram and > 0 ? ram : 2 * ByteSizes.OfFolder(folder);

    /// <summary>
    /// The model held for one generation, loaded from <paramref name="folder"/> first when it is not in memory;
    /// <see cref="ModelUnavailableException"/> when it cannot fit or does not load.
    /// </summary>
    /// <param name="needBytes">What it takes in memory (see <see cref="Estimate"/>).</param>
    /// <param name="isPinned">Whether a loaded model must stay (never unloaded to make room).</param>
    public async Task<ModelLease> LeaseAsync(string modelId, string folder, long needBytes, Func<string, bool> isPinned, CancellationToken cancellationToken)
    {
        var (resident, evicted) = JoinOrStartLoading(modelId, folder, needBytes, isPinned);
        Unload(evicted, "evicted", $"to make room for {modelId}");
        try
        {
            var client = await resident.Loading.WaitAsync(cancellationToken).ConfigureAwait(false);
            return new ModelLease(modelId, client, () => Release(resident));
        }
        catch
        {
            Release(resident);
            throw;
        }
    }

    /// <summary>Unloads the model unless it is answering or pinned.</summary>
    public UnloadOutcome TryUnload(string modelId, bool pinned)
    {
        Resident? resident;
        lock (_gate)
        {
            if (!_residents.TryGetValue(modelId, out resident))
            {
                return UnloadOutcome.NotLoaded;
            }

            if (pinned)
            {
                return UnloadOutcome.Pinned;
            }

            if (resident.InUse > 0)
            {
                return UnloadOutcome.InUse;
            }

            _residents.Remove(modelId);
        }

        Unload([(modelId, resident)], "command", "by command");
        return UnloadOutcome.Unloaded;
    }

    /// <summary>Unloads the models nobody used for <paramref name="idle"/>, but pinned ones.</summary>
    public void UnloadIdle(TimeSpan idle, Func<string, bool> isPinned)
    {
        var cutoff = time.GetUtcNow() - idle;
        List<(string, Resident)> unloaded;
        lock (_gate)
        {
            unloaded = [.. _residents.Where(r => r.Value.InUse == 0 && r.Value.Loading.IsCompletedSuccessfully && r.Value.LastUsed <= cutoff && !isPinned(r.Key)).Select(r => (r.Key, r.Value))];
            foreach (var (id, _) in unloaded)
            {
                _residents.Remove(id);
            }
        }

        Unload(unloaded, "idle", $"idle for {idle.TotalMinutes:F0} min");
    }

    /// <summary>Completes when every load under way has ended (faulted when one failed: the caller only waits).</summary>
    public Task WhenLoadsEndAsync()
    {
        lock (_gate)
        {
            return Task.WhenAll(_residents.Values.Select(r => (Task)r.Loading));
        }
    }

    public void Dispose()
    {
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
    }

    // Under the lock: the resident (new and loading, or there already) counting the caller as a user, and the
    // idle models to unload first so that it fits.
    private (Resident Resident, List<(string, Resident)> Evicted) JoinOrStartLoading(string modelId, string folder, long needBytes, Func<string, bool> isPinned)
    {
        lock (_gate)
        {
            if (_residents.TryGetValue(modelId, out var resident))
            {
                resident.InUse++;
                return (resident, []);
            }

            var evicted = MakeRoom(modelId, needBytes, isPinned);
            resident = new Resident(needBytes, time.GetUtcNow()) { InUse = 1 };
            _residents[modelId] = resident;
            _ = Task.Run(() => Load(modelId, folder, resident));
            return (resident, evicted);
        }
    }

    // Under the lock: takes out the idle, unpinned models (least recently used first) whose memory lets the
    // new one fit; ModelUnavailableException with the figures when even all of them would not.
    private List<(string, Resident)> MakeRoom(string modelId, long needBytes, Func<string, bool> isPinned)
    {
        if (resources.Latest.UsableMemoryBytes is not long usable)
        {
            return [];
        }

        long reserve = (long)options.Value.MemoryReserveMb << 20;
        var idle = _residents.Where(r => r.Value.InUse == 0 && r.Value.Loading.IsCompletedSuccessfully && !isPinned(r.Key)).OrderBy(r => r.Value.LastUsed)
            .Select(r => ((r.Key, r.Value), r.Value.NeedBytes));
        var plan = EvictionPlan.For(needBytes, usable - reserve, idle)
            ?? throw new ModelUnavailableException(
                $"{modelId} needs {needBytes >> 20} MB of memory to load, but only {Math.Max(0, usable - reserve) >> 20} MB are free past Models:MemoryReserveMb ({options.Value.MemoryReserveMb} MB), and the loaded models are pinned or in use");
        foreach (var (id, _) in plan)
        {
            _residents.Remove(id);
        }

        return [.. plan];
    }

    private void Load(string modelId, string folder, Resident resident)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            resident.Attach(LocalModel.Load(folder, cacheSlots: conversations.Value.CacheSlots, mayKeepCache: MemoryToSpare), time);
            Log.Loaded(logger, modelId, folder, clock.ElapsedMilliseconds);
            metrics.Loaded(modelId, succeeded: true);
            LoadedChanged?.Invoke(LoadedIds);
        }
        catch (Exception e)
        {
            // Whatever went wrong, the callers waiting for the load hear it: none waits for ever.
            Log.LoadFailed(logger, modelId, folder, e.Message);
            metrics.Loaded(modelId, succeeded: false);
            lock (_gate)
            {
                _residents.Remove(modelId);
            }

            LoadFailed?.Invoke(modelId);
            bool unusable = e is ModelFileException or IOException or UnauthorizedAccessException or Microsoft.ML.OnnxRuntimeGenAI.OnnxRuntimeGenAIException;
            resident.Fail(unusable ? new ModelUnavailableException($"{modelId} could not be loaded from {folder}: {e.Message}", e) : e);
        }
    }

    // The prompt cache keeps its sequences only while the board has more than Models:MemoryReserveMb free
    // (as last sampled): kept KV caches never eat into the reserve.
    private bool MemoryToSpare() =>
        resources.Latest.UsableMemoryBytes is not long usable || usable > (long)options.Value.MemoryReserveMb << 20;

    private void Release(Resident resident)
    {
        lock (_gate)
        {
            resident.InUse--;
            resident.LastUsed = time.GetUtcNow();
        }
    }

    // Outside the lock: native memory freed, the log and the store told.
    /// <param name="reason">Why, as a word for the metrics (evicted, command, idle); <paramref name="why"/> says it for the log.</param>
    private void Unload(IReadOnlyList<(string Id, Resident Resident)> unloaded, string reason, string why)
    {
        foreach (var (id, resident) in unloaded)
        {
            resident.Dispose();
            Log.Unloaded(logger, id, why);
            metrics.Unloaded(id, reason);
        }

        if (unloaded.Count > 0)
        {
            LoadedChanged?.Invoke(LoadedIds);
        }
    }

    // A model in memory (or on its way there), what it was counted as needing, and how many generations hold it.
    private sealed class Resident(long needBytes, DateTimeOffset admittedAt) : IDisposable
    {
        private readonly TaskCompletionSource<LocalChatClient> _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private LocalModel? _model;

        public long NeedBytes { get; } = needBytes;

        public Task<LocalChatClient> Loading => _loaded.Task;

        public int InUse { get; set; }

        public DateTimeOffset LastUsed { get; set; } = admittedAt;

        public void Attach(LocalModel model, TimeProvider time)
        {
            _model = model;
            _loaded.SetResult(new LocalChatClient(model, time));
        }

        public void Fail(Exception exception) => _loaded.SetException(exception);

        public void Dispose()
        {
            if (_loaded.Task.IsCompletedSuccessfully)
            {
                _loaded.Task.Result.Dispose();
            }

            _model?.Dispose();
        }
    }
}

/// <summary>What became of a request to unload a model.</summary>
internal enum UnloadOutcome
{
    Unloaded,
    NotLoaded,
    Pinned,
    InUse,
}
