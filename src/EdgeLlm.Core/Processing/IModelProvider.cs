using EdgeLlm.Core.Catalog;
using Microsoft.Extensions.AI;

namespace EdgeLlm.Core.Processing;

/// <summary>
/// A model held for one generation under the id answers name it by; disposing it lets the node unload the
/// model again once idle.
/// </summary>
public sealed class ModelLease(string id, IChatClient client, Action? release = null) : IDisposable
{
    private Action? _release = release;

    public string Id { get; } = id;

    public IChatClient Client { get; } = client;

    public void Dispose() => Interlocked.Exchange(ref _release, null)?.Invoke();
}

/// <summary>The local models of the node, as the pipeline sees them.</summary>
public interface IModelProvider
{
    /// <summary>
    /// The models this node can answer with without a download (loaded, on disk, or still loading), each as
    /// it is known: by its catalog entry, by its folder's own description, else as a general model.
    /// </summary>
    IReadOnlyList<CatalogModel> AvailableModels { get; }

    /// <summary>Ids of the models already in memory.</summary>
    IReadOnlyList<string> LoadedModelIds { get; }

    /// <summary>
    /// The model to answer with, loaded (and obtained, when absent) as needed; null when the node has no such
    /// model. Throws <see cref="ModelUnavailableException"/> when it exists but cannot be obtained or loaded now.
    /// </summary>
    ValueTask<ModelLease?> GetAsync(string modelId, CancellationToken cancellationToken);
}

/// <summary>The store's side of routing: catalog models the node could obtain, and the way to obtain one (docs/design.md §6).</summary>
public interface IModelAcquisition
{
    /// <summary>Catalog models not on the board that it could pull now, each with the predicted time (ms) to pull, convert and load it.</summary>
    IReadOnlyDictionary<string, double> Acquirable { get; }

    /// <summary>The pulls under way, for the status advertisement.</summary>
    IReadOnlyList<PullProgress> Pulls { get; }

    /// <summary>Brings the model onto the board, sharing a pull already under way; throws <see cref="ModelUnavailableException"/> naming each source and its failure.</summary>
    Task EnsurePresentAsync(string modelId, CancellationToken cancellationToken);

    /// <summary>Starts <see cref="EnsurePresentAsync"/> in the background; a failure is logged and keeps the model off the acquirable list for a while.</summary>
    void StartPull(string modelId);
}

/// <summary>A model that exists but cannot be obtained or loaded now: its pull failed, or it does not fit in memory.</summary>
public sealed class ModelUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A pull under way: the file being fetched, bytes so far, and the total when the source tells.</summary>
public sealed record PullProgress(string ModelId, string Source, long Bytes, long? TotalBytes);

/// <summary>What a model command did.</summary>
public enum ModelCommandOutcome
{
    Pulled,
    AlreadyPresent,
    Unloaded,
    NotLoaded,
    Pinned,
    Unpinned,
}

/// <summary>A model command's result: what happened, in a word and in a sentence for people.</summary>
/// <param name="Bytes">The model's size on disk, when it was pulled.</param>
public sealed record ModelCommandResult(string Model, ModelCommandOutcome Outcome, string Message, long? Bytes = null);

/// <summary>
/// A command that asks for something the node will not do with that model (unload a pinned model or one
/// that is answering, unpin what the configuration pins): the sender's mistake, not the node's failure.
/// </summary>
public sealed class ModelCommandException(string message) : Exception(message);

/// <summary>
/// The commands a fleet may send a node about its models (edgellm/node/{nodeId}/cmd). Each returns what it
/// did; <see cref="ModelCommandException"/> is a request refused, <see cref="ModelUnavailableException"/> a
/// model that cannot be obtained or loaded.
/// </summary>
public interface IModelCommands
{
    Task<ModelCommandResult> PullAsync(string modelId, CancellationToken cancellationToken);

    Task<ModelCommandResult> UnloadAsync(string modelId, CancellationToken cancellationToken);

    Task<ModelCommandResult> PinAsync(string modelId, CancellationToken cancellationToken);

    Task<ModelCommandResult> UnpinAsync(string modelId, CancellationToken cancellationToken);
}
