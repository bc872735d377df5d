namespace EdgeLlm.Onnx.Hosting;

/// <summary>Configuration section "Models": the models this node answers with.</summary>
public sealed class ModelsOptions
{
    public const string Section = "Models";

    /// <summary>A model folder (ONNX Runtime GenAI layout) to serve; empty means the node has no local model.</summary>
    public string Local { get; set; } = "";
}
