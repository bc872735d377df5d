using System.Globalization;
using EdgeLlm.Benchmarks;

// EdgeLlm's benchmarks, each printing its figures (medians, measured side by side in one run):
//
//   dotnet run -c Release --project tests/EdgeLlm.Benchmarks -- local-tier [--rounds N] [--models DIR]
//   dotnet run -c Release --project tests/EdgeLlm.Benchmarks -- conversation [--rounds N] [--models DIR]
//   dotnet run -c Release --project tests/EdgeLlm.Benchmarks -- mqtt [--requests N]
//   dotnet run -c Release --project tests/EdgeLlm.Benchmarks -- escalation [--requests N]
//   dotnet run -c Release --project tests/EdgeLlm.Benchmarks -- store [--rounds N]
//   dotnet run -c Release --project tests/EdgeLlm.Benchmarks -- footprint [--starts N]   (publishes linux-x64 and linux-x64-aot)
//   dotnet run -c Release --project tests/EdgeLlm.Benchmarks -- scale [--devices N] [--requests N]   (1, 2, 5, 10 nodes; ulimit -n above N)
//   dotnet run -c Release --project tests/EdgeLlm.Benchmarks -- soak [--minutes N]   (the chaos soak: faults while it serves)
//   dotnet run -c Release --project tests/EdgeLlm.Benchmarks -- routing         (BenchmarkDotNet)
var arguments = new BenchmarkArguments(args);
return args switch
{
    [LocalTierBenchmark.ChildArgument, string folder, string threads] => GenerationMeasurement.RunInChild(folder, int.Parse(threads, CultureInfo.InvariantCulture)),
    ["local-tier", ..] => LocalTierBenchmark.Run(arguments),
    ["conversation", ..] => ConversationBenchmark.Run(arguments),
    ["mqtt", ..] => await MqttBenchmark.RunAsync(arguments),
    ["escalation", ..] => await EscalationBenchmark.RunAsync(arguments),
    ["store", ..] => await StoreBenchmark.RunAsync(arguments),
    ["footprint", ..] => await FootprintBenchmark.RunAsync(arguments),
    ["scale", ..] => await ScaleBenchmark.RunAsync(arguments),
    ["soak", ..] => await SoakBenchmark.RunAsync(arguments),
    ["routing", ..] => RoutingBenchmarks.Run(),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: EdgeLlm.Benchmarks local-tier [--rounds N] [--models DIR] | conversation [--rounds N] [--models DIR] | mqtt [--requests N] | escalation [--requests N] | store [--rounds N] | footprint [--starts N] | scale [--devices N] [--requests N] | soak [--minutes N] | routing");
    return 2;
}
