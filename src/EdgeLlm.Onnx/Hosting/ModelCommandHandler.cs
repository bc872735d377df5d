using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Processing;

namespace EdgeLlm.Onnx.Hosting;

/// <summary>
/// The fleet's commands about this node's models (pull, unload, pin, unpin), each done on the store and the
/// loaded models and answered with what it did; a request the node refuses is a <see cref="ModelCommandException"/>.
/// </summary>
internal sealed class ModelCommandHandler(ModelCatalog catalog, ConfiguredModel local, ResidentModels residents, PullableModels store, ModelManager manager) : IModelCommands
{
    public async Task<ModelCommandResult> PullAsync(string modelId, CancellationToken cancellationToken)
    {
        if (manager.AvailableModels.Any(m => m.Id == modelId))
        {
            return new ModelCommandResult(modelId, ModelCommandOutcome.AlreadyPresent, $"{modelId} is already on this board");
        }

        await store.EnsurePresentAsync(modelId, cancellationToken).ConfigureAwait(false);
        long? bytes = store.Store?.Find(modelId)?.Bytes;
        return new ModelCommandResult(modelId, ModelCommandOutcome.Pulled, $"{modelId} pulled ({bytes ?? 0} bytes)", bytes);
    }

    public Task<ModelCommandResult> UnloadAsync(string modelId, CancellationToken cancellationToken) => residents.TryUnload(modelId, manager.IsPinned(modelId)) switch
    {
        UnloadOutcome.Unloaded => Task.FromResult(new ModelCommandResult(modelId, ModelCommandOutcome.Unloaded, $"{modelId} unloaded")),
        UnloadOutcome.NotLoaded => Task.FromResult(new ModelCommandResult(modelId, ModelCommandOutcome.NotLoaded, $"{modelId} was not loaded")),
        UnloadOutcome.Pinned => throw new ModelCommandException($"{modelId} is pinned, so it stays loaded: unpin it first"),
        _ => throw new ModelCommandException($"{modelId} is answering a request; try again when it is done"),
    };

    public async Task<ModelCommandResult> PinAsync(string modelId, CancellationToken cancellationToken)
    {
        var stored = RequireStore();
        if (modelId != local.Id && catalog.Find(modelId) is null && stored.Find(modelId) is null)
        {
            throw new ModelUnavailableException($"{modelId} is neither in the catalog nor on this board");
        }

        stored.Pin(modelId);
        using var lease = await manager.GetAsync(modelId, cancellationToken).ConfigureAwait(false);
        return new ModelCommandResult(modelId, ModelCommandOutcome.Pinned, $"{modelId} pinned: on this board and loaded");
    }

    public Task<ModelCommandResult> UnpinAsync(string modelId, CancellationToken cancellationToken)
    {
        var stored = RequireStore();
        if (modelId == local.Id)
        {
            throw new ModelCommandException($"{modelId} is the node's Models:Local, which always stays");
        }

        stored.Unpin(modelId);
        return Task.FromResult(new ModelCommandResult(modelId, ModelCommandOutcome.Unpinned, $"{modelId} unpinned: it may be unloaded when idle and evicted when room is needed"));
    }

    private Store.ModelStore RequireStore() =>
        store.Store ?? throw new ModelUnavailableException("this board has no model store (Models:StorePath could not be opened)");
}
