using System.Diagnostics;
using System.Globalization;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Checkpoints;

namespace EdgeLlm.Benchmarks;

/// <summary>
/// The local tier's speed and memory: decode rate, time to first token, load time and peak RSS of synthetic
/// models of real shapes, with the byte vocabulary and with the model's real one, the decode rate set against
/// the memory-bandwidth bound of this machine and the model's share of the memory against its weights.
/// Every configuration runs in a fresh process, round after round, so that the configurations are measured
/// side by side under the same conditions; the figures are medians over the rounds.
/// </summary>
internal static class LocalTierBenchmark
{
    public const string ChildArgument = "--child";

    public static int Run(BenchmarkArguments arguments)
    {
        int rounds = arguments.Int("--rounds", 3);
        string modelsFolder = SyntheticModels.Root(arguments);
        string[] shapes = ["smollm2-135m", "qwen2.5-0.5b"];
        Quantization[] quantizations = [Quantization.Int8, Quantization.Int4];
        int[] threadCounts = [1, 2];

        Console.WriteLine($"EdgeLlm local-tier benchmark: {Environment.ProcessorCount} cores, {CpuModel()}, {rounds} rounds");
        var configurations = new List<Configuration>();
        foreach (string shape in shapes)
        {
            foreach (bool realVocabulary in new[] { false, true })
            {
                foreach (var quantization in quantizations)
                {
                    string folder = SyntheticModels.Folder(modelsFolder, shape, realVocabulary, quantization);
                    var modelShape = new SyntheticWeights(shape, seed: 1, realVocabulary).Shape;
                    configurations.AddRange(threadCounts.Select(threads => new Configuration(shape, modelShape, realVocabulary, quantization, folder, threads)));
                }
            }
        }

        // The runtime and ONNX Runtime's libraries with a model of a few hundred kilobytes: what every process
        // holds before its weights, so that each model's own share of the memory can be told apart.
        string runtimeOnly = Path.Combine(modelsFolder, "runtime-only");
        if (!Directory.Exists(runtimeOnly))
        {
            ModelFolderBuilder.Build(new SyntheticWeights("stories260k", seed: 1), Llama2cVocabulary.Bytes(), Quantization.Int4, runtimeOnly, force: false);
        }

        var runtimeRss = new List<double>();
        var bandwidth = threadCounts.ToDictionary(t => t, _ => new List<double>());
        var measurements = configurations.ToDictionary(c => c, _ => new List<GenerationMeasurement>());
        for (int round = 1; round <= rounds; round++)
        {
            Console.WriteLine($"round {round}/{rounds}");
            foreach (int threads in threadCounts)
            {
                bandwidth[threads].Add(MemoryBandwidth.Measure(threads, passes: 5));
            }

            runtimeRss.Add(RunChild(runtimeOnly, threads: 1).PeakRssMb);
            foreach (var configuration in configurations)
            {
                measurements[configuration].Add(RunChild(configuration.Folder, configuration.Threads));
            }
        }

        Console.WriteLine();
        foreach (int threads in threadCounts)
        {
            Console.WriteLine($"read bandwidth, {threads} thread(s): {Statistics.Median(bandwidth[threads]) / 1e9:F1} GB/s (median)");
        }

        double runtime = Statistics.Median(runtimeRss);
        Console.WriteLine($"peak RSS of the runtime alone (a 0.25 MB model): {runtime:F0} MB (median)");
        Console.WriteLine();
        Console.WriteLine("| model | vocab | quant | threads | weight MB read/token | decode tok/s | bound tok/s | decode/bound | TTFT 64 tok (ms) | load (ms) | peak RSS (MB) | weights on disk (MB) | (peak RSS − runtime) / weights |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var configuration in configurations)
        {
            double bytesPerToken = WeightBytes.ReadPerToken(configuration.Shape, configuration.Quantization);
            double stored = WeightBytes.Stored(configuration.Shape, configuration.Quantization);
            double bound = Statistics.Median(bandwidth[configuration.Threads]) / bytesPerToken;
            var runs = measurements[configuration];
            double decode = Statistics.Median(runs.Select(m => m.DecodeTokensPerSecond).ToArray());
            double peak = Statistics.Median(runs.Select(m => m.PeakRssMb).ToArray());
            double modelShare = peak - runtime;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {configuration.Name} | {(configuration.RealVocabulary ? configuration.Shape.VocabSize.ToString("N0", CultureInfo.InvariantCulture) : "byte")} | {configuration.Quantization.ToName()} | {configuration.Threads} | {bytesPerToken / 1e6:F0} | {decode:F1} | {bound:F1} | {decode / bound:F2} | {Statistics.Median(runs.Select(m => m.TimeToFirstTokenMs).ToArray()):F0} | {Statistics.Median(runs.Select(m => m.LoadMs).ToArray()):F0} | {peak:F0} | {stored / 1e6:F0} | {modelShare * (1 << 20) / stored:F2} |"));
        }

        return 0;
    }

    private sealed record Configuration(string Name, LlamaShape Shape, bool RealVocabulary, Quantization Quantization, string Folder, int Threads);

    private static GenerationMeasurement RunChild(string folder, int threads)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
        // Under `dotnet run` the process is dotnet itself: pass the benchmark's own assembly first.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            start.ArgumentList.Add(typeof(GenerationMeasurement).Assembly.Location);
        }

        foreach (string argument in new[] { ChildArgument, folder, threads.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        using var child = Process.Start(start)!;
        string output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0)
        {
            throw new InvalidOperationException($"measuring {folder} with {threads} thread(s) failed (exit {child.ExitCode})");
        }

        return GenerationMeasurement.FromJson(output.Trim().Split('\n')[^1]);
    }

    public static string CpuModel() =>
        File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU"
            : "unknown CPU";
}
