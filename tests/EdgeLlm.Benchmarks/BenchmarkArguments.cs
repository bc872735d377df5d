using System.Globalization;

namespace EdgeLlm.Benchmarks;

/// <summary>"--name value" options of a benchmark's command line.</summary>
internal sealed class BenchmarkArguments(string[] args)
{
    public string? Value(string name) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

    public int Int(string name, int fallback) => Value(name) is string value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;
}
