using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Onnx.Hosting;

/// <summary>
/// The node's local models as the pipeline sees them (docs/design.md §6): Models:Local and the store's models,
/// each lent out for a generation, pulled first when a request needs one the board lacks, and loaded when
/// memory allows. Pinned models (Models:Pinned, `model pin`, and Models:Local) are obtained and loaded at
/// start and stay. Once stopped, nothing touches the store or loads a model.
/// </summary>
internal sealed class ModelManager(
    IOptions<LocalModelsOptions> options,
    ModelCatalog catalog,
    ConfiguredModel local,
    ResidentModels residents,
    PullableModels store,
    ILogger<ModelManager> logger) : IModelProvider, IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _pinning = [];

    public IReadOnlyList<CatalogModel> AvailableModels =>
        [.. (local.Usable is { } configured ? [configured] : Array.Empty<CatalogModel>()).Concat(store.Present).DistinctBy(m => m.Id, StringComparer.Ordinal)];

    public IReadOnlyList<string> LoadedModelIds => residents.LoadedIds;

    public async ValueTask<ModelLease?> GetAsync(string modelId, CancellationToken cancellationToken)
    {
        string? folder = modelId == local.Id ? local.Folder : store.FolderOf(modelId);
        if (folder is null && store.Store is not null && catalog.Find(modelId) is { CanBePulled: true })
        {
            await store.EnsurePresentAsync(modelId, cancellationToken).ConfigureAwait(false);
            folder = store.FolderOf(modelId);
        }

        if (folder is null)
        {
            return null;
        }

        // Once stopped, nothing new loads: StopAsync has waited for the loads under way, and no more.
        _stopping.Token.ThrowIfCancellationRequested();
        long need = ResidentModels.Estimate(KnownAs(modelId)?.RamBytes, folder);
        var lease = await residents.LeaseAsync(modelId, folder, need, IsPinned, cancellationToken).ConfigureAwait(false);
        store.Store?.Touch(modelId);
        return lease;
    }

    /// <summary>Pinned models stay in memory and on disk: Models:Local, Models:Pinned, and those pinned by command.</summary>
    public bool IsPinned(string modelId) => modelId == local.Id || store.Store?.IsPinned(modelId) == true;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        residents.LoadFailed += GiveUpLocal;
        if (local.Description is { } described)
        {
            Log.LocalDescribed(logger, local.Folder, described.Model.Id, described.Basis);
        }

        store.Open();
        if (local.Id is null && store.Store is null)
        {
            Log.NoModelConfigured(logger);
        }

        // Models:Local first: requests wait for it while it loads.
        IEnumerable<string> pinned = local.Id is string id ? [id] : [];
        foreach (string model in pinned.Concat(options.Value.Pinned).Concat(store.Store?.List().Where(m => m.Pinned).Select(m => m.Id) ?? []).Distinct(StringComparer.Ordinal))
        {
            _pinning.Add(KeepPinnedAsync(model));
        }

        return Task.CompletedTask;
    }

    // Pulls are cancelled (a download keeps its part file to resume) and the pinned models' pulls and loads
    // are waited for, then every load under way, so that nothing touches the store or loads a model once
    // stopped, and Dispose frees every model.
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_pinning).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await store.CloseAsync().WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await residents.WhenLoadsEndAsync().WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose()
    {
        residents.LoadFailed -= GiveUpLocal;
        _stopping.Dispose();
    }

    // Models:Local that will not load is not offered again: the recommender routes around it.
    private void GiveUpLocal(string modelId)
    {
        if (modelId == local.Id)
        {
            local.GiveUp();
        }
    }

    // A model on the board as it is described (a folder's own description included), else its catalog entry.
    private CatalogModel? KnownAs(string modelId) => AvailableModels.FirstOrDefault(m => m.Id == modelId) ?? catalog.Find(modelId);

    private async Task KeepPinnedAsync(string modelId)
    {
        try
        {
            using var lease = await GetAsync(modelId, _stopping.Token).ConfigureAwait(false);
            if (lease is null)
            {
                Log.PinnedUnknown(logger, modelId);
            }
        }
        catch (ModelUnavailableException e)
        {
            Log.PinnedUnavailable(logger, modelId, e.Message);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }
}
