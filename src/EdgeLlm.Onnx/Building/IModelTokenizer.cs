using EdgeLlm.Onnx.Checkpoints;

namespace EdgeLlm.Onnx.Building;

/// <summary>The ids that begin and end a generation, as genai_config.json states them.</summary>
/// <param name="Eos">Every id that ends a generation (an instruct model's end of turn among them).</param>
public sealed record SpecialTokenIds(int? Bos, IReadOnlyList<int> Eos, int Pad);

/// <summary>A model's tokenizer as a model folder needs it: its files in the Hugging Face layout, and its special ids.</summary>
public interface IModelTokenizer
{
    /// <summary>Where it comes from, for messages.</summary>
    string Source { get; }

    SpecialTokenIds SpecialTokens { get; }

    /// <summary>Throws <see cref="ModelFileException"/> when it cannot go with weights of <paramref name="shape"/> from <paramref name="weightsSource"/>.</summary>
    void CheckFits(LlamaShape shape, string weightsSource);

    /// <summary>Writes tokenizer.json and tokenizer_config.json (and what else the tokenizer has) into <paramref name="folder"/>.</summary>
    void WriteFiles(string folder, int contextLength);
}
