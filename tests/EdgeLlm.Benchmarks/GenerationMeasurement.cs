using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EdgeLlm.Onnx.Engine;

namespace EdgeLlm.Benchmarks;

/// <summary>One process's measurement of a model: load, time to first token, decode rate and peak memory.</summary>
internal sealed record GenerationMeasurement(double LoadMs, double TimeToFirstTokenMs, double DecodeTokensPerSecond, double PeakRssMb)
{
    public const int PromptTokens = 64;
    public const int DecodeTokens = 128;

    /// <summary>Runs in a fresh process so that load time and peak RSS are this model's alone.</summary>
    public static GenerationMeasurement Run(string folder, int threads)
    {
        var clock = Stopwatch.StartNew();
        using var model = LocalModel.Load(folder, threads);
        double loadMs = clock.Elapsed.TotalMilliseconds;

        var prompt = model.Encode("Once upon a time there was a small board on a factory floor that answered questions all day long, quietly and well.").Take(PromptTokens).ToList();
        while (prompt.Count < PromptTokens)
        {
            prompt.Add(prompt[^1]);
        }

        // A short warm-up run: the first run of a session allocates its buffers.
        model.Generate(prompt, new GenerationSettings { MaxNewTokens = 4 });

        double firstTokenMs = 0;
        double lastTokenMs = 0;
        int tokens = 0;
        clock.Restart();
        model.Generate(prompt, new GenerationSettings { MaxNewTokens = DecodeTokens + 1 }, (_, _) =>
        {
            lastTokenMs = clock.Elapsed.TotalMilliseconds;
            if (tokens++ == 0)
            {
                firstTokenMs = lastTokenMs;
            }
        });

        if (tokens != DecodeTokens + 1)
        {
            throw new InvalidOperationException($"{folder} stopped after {tokens} tokens; the decode rate needs {DecodeTokens + 1}");
        }

        double decodeRate = DecodeTokens / ((lastTokenMs - firstTokenMs) / 1000);
        return new GenerationMeasurement(loadMs, firstTokenMs, decodeRate, ReadPeakRssMb());
    }

    /// <summary>The child process's side: measure, print the figures for the parent, exit.</summary>
    public static int RunInChild(string folder, int threads)
    {
        Console.WriteLine(Run(folder, threads).ToJson());
        return 0;
    }

    public string ToJson() => JsonSerializer.Serialize(new[] { LoadMs, TimeToFirstTokenMs, DecodeTokensPerSecond, PeakRssMb });

    public static GenerationMeasurement FromJson(string json)
    {
        double[] values = JsonSerializer.Deserialize<double[]>(json) ?? throw new FormatException($"not a measurement: {json}");
        return new GenerationMeasurement(values[0], values[1], values[2], values[3]);
    }

    private static double ReadPeakRssMb()
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }
}
