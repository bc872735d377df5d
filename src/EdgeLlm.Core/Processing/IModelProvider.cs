using Microsoft.Extensions.AI;

namespace EdgeLlm.Core.Processing;

/// <summary>A model ready to answer, under the id answers name it by.</summary>
public sealed record LoadedModel(string Id, IChatClient Client);

/// <summary>The local models of the node, as the pipeline sees them.</summary>
public interface IModelProvider
{
    /// <summary>False once it is known that no model can be had: requests then get no-model at once.</summary>
    bool MayHaveModel { get; }

    /// <summary>Ids of the models that are loaded, for the status advertisement.</summary>
    IReadOnlyList<string> LoadedModelIds { get; }

    /// <summary>The model to answer with, waiting while it loads; null when there is none.</summary>
    ValueTask<LoadedModel?> GetAsync(CancellationToken cancellationToken);
}
