using Microsoft.Extensions.AI;

namespace EdgeLlm.Core.Processing;

/// <summary>A model ready to answer, under the id answers name it by.</summary>
public sealed record LoadedModel(string Id, IChatClient Client);

/// <summary>The local models of the node, as the pipeline sees them.</summary>
public interface IModelProvider
{
    /// <summary>Ids of the models this node can answer with: loaded, or still loading. Empty once it is known there are none.</summary>
    IReadOnlyList<string> AvailableModelIds { get; }

    /// <summary>Ids of the models already in memory.</summary>
    IReadOnlyList<string> LoadedModelIds { get; }

    /// <summary>The model to answer with, waiting while it loads; null when there is none.</summary>
    ValueTask<LoadedModel?> GetAsync(CancellationToken cancellationToken);
}
