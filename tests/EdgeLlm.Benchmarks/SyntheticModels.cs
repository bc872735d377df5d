using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Checkpoints;

namespace EdgeLlm.Benchmarks;

/// <summary>
/// The benchmarks' synthetic models of real shapes, built once into a folder kept between runs
/// (--models DIR, else the temp folder's edgellm-benchmark-models).
/// </summary>
internal static class SyntheticModels
{
    public static string Root(BenchmarkArguments arguments) => arguments.Value("--models") ?? Path.Combine(Path.GetTempPath(), "edgellm-benchmark-models");

    /// <summary>The folder of <paramref name="shape"/> with its byte or real vocabulary at <paramref name="quantization"/>, built when absent.</summary>
    public static string Folder(string root, string shape, bool realVocabulary, Quantization quantization)
    {
        string folder = Path.Combine(root, $"{shape}-{(realVocabulary ? "real" : "byte")}-{quantization.ToName()}");
        if (!Directory.Exists(folder))
        {
            Console.WriteLine($"building {folder}");
            var weights = new SyntheticWeights(shape, seed: 1, realVocabulary);
            ModelFolderBuilder.Build(weights, Llama2cVocabulary.Bytes(weights.Shape.VocabSize), quantization, folder, force: false);
        }

        return folder;
    }
}
