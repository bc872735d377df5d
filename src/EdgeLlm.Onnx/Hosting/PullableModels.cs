using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Telemetry;
using EdgeLlm.Core.Resources;
using EdgeLlm.Onnx.Store;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Onnx.Hosting;

/// <summary>
/// The model store as the node uses it (docs/design.md §6): what it holds, as described; which absent catalog
/// models of this tier it could pull now (fitting the disk budget, with a source not failed lately) and how
/// long each would take; the pulls, on demand or in the background. A store that cannot be opened leaves the
/// node serving what it has.
/// </summary>
internal sealed class PullableModels : IModelAcquisition, IDisposable
{
    /// <summary>The HttpClient the store downloads with (IHttpClientFactory's name for it).</summary>
    public const string HttpClientName = "edgellm.models";

    private readonly LocalModelsOptions _options;
    private readonly string _onDemand;
    private readonly NodeOptions _node;
    private readonly ModelCatalog _catalog;
    private readonly ConfiguredModel _local;
    private readonly ResidentModels _residents;
    private readonly IHttpClientFactory _http;
    private readonly ISysFs _system;
    private readonly NodeMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<PullableModels> _logger;
    private readonly CancellationTokenSource _closing = new();
    private volatile IReadOnlyList<CatalogModel> _present = [];
    private volatile IReadOnlyDictionary<string, CatalogModel> _pullable = new Dictionary<string, CatalogModel>();

    public PullableModels(IOptions<LocalModelsOptions> options, IOptions<ModelsOptions> routing, IOptions<NodeOptions> node, ModelCatalog catalog, ConfiguredModel local, ResidentModels residents, IHttpClientFactory http, ISysFs system, NodeMetrics metrics, TimeProvider time, ILogger<PullableModels> logger)
    {
        _metrics = metrics;
        _options = options.Value;
        _onDemand = routing.Value.OnDemand;
        _node = node.Value;
        _catalog = catalog;
        _local = local;
        _residents = residents;
        _http = http;
        _system = system;
        _time = time;
        _logger = logger;
        // `edgellm model list` reads which models the running node holds from the store.
        residents.LoadedChanged += RecordLoaded;
    }

    /// <summary>The store, once opened; null before, or when it cannot be.</summary>
    public ModelStore? Store { get; private set; }

    /// <summary>The models the store holds, each as it is known (its catalog entry, or its folder's own description).</summary>
    public IReadOnlyList<CatalogModel> Present => _present;

    public IReadOnlyDictionary<string, double> Acquirable =>
        Store is not { } store || _onDemand == OnDemandPolicies.Off
            ? new Dictionary<string, double>()
            : _pullable.Values.Where(store.HasSourceToTry).ToDictionary(m => m.Id, store.PredictAcquisitionMs, StringComparer.Ordinal);

    public IReadOnlyList<PullProgress> Pulls => Store?.Pulls ?? [];

    /// <summary>Opens (creating) the store at Models:StorePath and reads what it holds.</summary>
    public void Open()
    {
        try
        {
            Store = ModelStore.Open(_options.StorePath, (long)_options.DiskBudgetMb << 20, _options.Pinned, _http.CreateClient(HttpClientName), HubSettings.Resolve(_options.HfEndpoint, _options.HfTokenFile), _system, _time, _logger);
            Store.PullEnded += (id, stored) => _metrics.Pulled(id, stored?.Bytes);
            Rescan();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.StoreUnavailable(_logger, _options.StorePath, e.Message);
        }
    }

    /// <summary>The folder of a model the store holds; null when it holds none of that id.</summary>
    public string? FolderOf(string modelId) => Store?.Find(modelId)?.Folder;

    public async Task EnsurePresentAsync(string modelId, CancellationToken cancellationToken)
    {
        if (Store is not { } store)
        {
            throw new ModelUnavailableException($"{modelId} is not on this board, and it has no model store (Models:StorePath {_options.StorePath} could not be opened)");
        }

        var model = _catalog.Find(modelId) ?? throw new ModelUnavailableException($"{modelId} is not in the catalog, so it cannot be pulled");
        try
        {
            await store.PullAsync(model, () => _residents.LoadedIds, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Rescan();
        }
    }

    public void StartPull(string modelId) => _ = PullInBackgroundAsync(modelId);

    /// <summary>Re-reads what the store holds and which absent catalog models of this tier would fit its budget.</summary>
    public void Rescan()
    {
        if (Store is not { } store)
        {
            return;
        }

        try
        {
            var stored = store.List();
            var loaded = _residents.LoadedIds;
            // A folder is named by its catalog id when the store installed it; one put there by hand may describe itself.
            _present = [.. stored.Select(m => FolderDescriber.Describe(m.Folder, _catalog, _node.Tier, byContents: false).Model with { Id = m.Id })];
            _pullable = _catalog.Models
                .Where(m => m.Tier == _node.Tier && m.CanBePulled && m.Id != _local.Id && stored.All(s => s.Id != m.Id) && store.CouldFit(m, loaded, stored))
                .ToDictionary(m => m.Id, StringComparer.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.StoreUnreadable(_logger, store.Root, e.Message);
        }
    }

    /// <summary>Stops the pulls under way and waits for them to let go of the store (a download keeps its part file to resume).</summary>
    public async Task CloseAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        if (Store is not null)
        {
            await Store.CloseAsync().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public void Dispose()
    {
        _residents.LoadedChanged -= RecordLoaded;
        _closing.Dispose();
        Store?.Dispose();
    }

    private async Task PullInBackgroundAsync(string modelId)
    {
        try
        {
            await EnsurePresentAsync(modelId, _closing.Token).ConfigureAwait(false);
        }
        catch (ModelUnavailableException e)
        {
            Log.BackgroundPullFailed(_logger, modelId, e.Message);
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
        }
    }

    private void RecordLoaded(IReadOnlyList<string> loaded)
    {
        try
        {
            Store?.RecordLoaded(loaded);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.StoreUnreadable(_logger, _options.StorePath, e.Message);
        }
    }
}
