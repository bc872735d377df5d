using System.Diagnostics;
using System.Globalization;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Checkpoints;

namespace EdgeLlm.Benchmarks;

/// <summary>
/// The local tier's speed and memory: decode rate, time to first token, load time and peak RSS of synthetic
/// models of real shapes, with the decode rate set against the memory-bandwidth bound of this machine.
/// Every configuration runs in a fresh process, round after round, so that the configurations are measured
/// side by side under the same conditions; the figures are medians over the rounds.
/// </summary>
internal static class LocalTierBenchmark
{
    public const string ChildArgument = "--child";

    public static int Run(BenchmarkArguments arguments)
    {
        int rounds = arguments.Int("--rounds", 3);
        string modelsFolder = arguments.Value("--models") ?? Path.Combine(Path.GetTempPath(), "edgellm-benchmark-models");
        string[] shapes = ["smollm2-135m", "qwen2.5-0.5b"];
        Quantization[] quantizations = [Quantization.Int8, Quantization.Int4];
        int[] threadCounts = [1, 2];

        Console.WriteLine($"EdgeLlm local-tier benchmark: {Environment.ProcessorCount} cores, {CpuModel()}, {rounds} rounds");
        var configurations = new List<(string Shape, Quantization Quantization, string Folder, int Threads)>();
        foreach (string shape in shapes)
        {
            foreach (var quantization in quantizations)
            {
                string folder = Path.Combine(modelsFolder, $"{shape}-{quantization.ToName()}");
                if (!Directory.Exists(folder))
                {
                    Console.WriteLine($"building {folder}");
                    ModelFolderBuilder.Build(new SyntheticWeights(shape, seed: 1), Llama2cVocabulary.Bytes(), quantization, folder, force: false);
                }

                configurations.AddRange(threadCounts.Select(threads => (shape, quantization, folder, threads)));
            }
        }

        var bandwidth = threadCounts.ToDictionary(t => t, _ => new List<double>());
        var measurements = configurations.ToDictionary(c => c, _ => new List<GenerationMeasurement>());
        for (int round = 1; round <= rounds; round++)
        {
            Console.WriteLine($"round {round}/{rounds}");
            foreach (int threads in threadCounts)
            {
                bandwidth[threads].Add(MemoryBandwidth.Measure(threads, passes: 5));
            }

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

        Console.WriteLine();
        Console.WriteLine("| model | quant | threads | weight MB read/token | decode tok/s | bound tok/s | decode/bound | TTFT 64 tok (ms) | load (ms) | peak RSS (MB) |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var configuration in configurations)
        {
            var shape = new SyntheticWeights(configuration.Shape, 1).Shape;
            // Every weight is read once per token; the shared classifier is the embedding, read whole for the logits.
            double bytesPerToken = ModelFolderBuilder.StoredWeightBytes(shape, configuration.Quantization);
            double bound = Statistics.Median(bandwidth[configuration.Threads]) / bytesPerToken;
            var runs = measurements[configuration];
            double decode = Statistics.Median(runs.Select(m => m.DecodeTokensPerSecond).ToArray());
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {configuration.Shape} | {configuration.Quantization.ToName()} | {configuration.Threads} | {bytesPerToken / 1e6:F0} | {decode:F1} | {bound:F1} | {decode / bound:F2} | {Statistics.Median(runs.Select(m => m.TimeToFirstTokenMs).ToArray()):F0} | {Statistics.Median(runs.Select(m => m.LoadMs).ToArray()):F0} | {Statistics.Median(runs.Select(m => m.PeakRssMb).ToArray()):F0} |"));
        }

        return 0;
    }

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
