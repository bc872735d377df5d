using System.Diagnostics;
using System.Globalization;
using System.Text;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Resources;
using EdgeLlm.Onnx.Store;
using EdgeLlm.Tests;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeLlm.Benchmarks;

/// <summary>
/// What obtaining a model on demand costs (docs/design.md §6). First, a pull of stories260K into an empty store —
/// download (loopback HTTP, or a file URL), sha256 check, conversion to each quantization, rename into place
/// — with every configuration in turn within each round. Then a fresh node's first request, which pulls,
/// converts and loads the model before answering, against its second request on the same node.
/// </summary>
internal static class StoreBenchmark
{
    private const string AnswerTopic = "bench/answer";

    public static async Task<int> RunAsync(BenchmarkArguments arguments)
    {
        int rounds = arguments.Int("--rounds", 5);
        using var temp = new TempDirectory();
        using var server = new ModelSourceServer();
        var httpSource = StoriesCatalog.Source(server.Serve("stories260K.bin", File.ReadAllBytes(StoriesFiles.Checkpoint)), server.Serve("tok512.bin", File.ReadAllBytes(StoriesFiles.Tokenizer)));
        string[] quantizations = ["int4", "int8", "fp32"];
        var catalog = CatalogReader.Read(StoriesCatalog.Write(temp.Combine("catalog.json"), [
            .. quantizations.Select(q => StoriesCatalog.Model($"http-{q}", q, httpSource)),
            .. quantizations.Select(q => StoriesCatalog.Model($"file-{q}", q, StoriesCatalog.FileSource())),
        ]));
        Console.WriteLine($"EdgeLlm store benchmark: {Environment.ProcessorCount} cores, {LocalTierBenchmark.CpuModel()}, stories260K ({new FileInfo(StoriesFiles.Checkpoint).Length} + {new FileInfo(StoriesFiles.Tokenizer).Length} bytes), {rounds} rounds");

        var pulls = catalog.Models.ToDictionary(m => m.Id, _ => new List<double>());
        using var http = new HttpClient(ModelStore.CreateHttpHandler());
        for (int round = 0; round < rounds; round++)
        {
            foreach (var model in catalog.Models)
            {
                var store = ModelStore.Open(temp.Combine($"store-{round}-{model.Id}"), 0, [], http, new HubSettings(new Uri(HubSettings.DefaultEndpoint), Token: null), new RootedSysFs("/"), TimeProvider.System, NullLogger.Instance);
                var clock = Stopwatch.StartNew();
                await store.PullAsync(model, () => [], CancellationToken.None);
                pulls[model.Id].Add(clock.Elapsed.TotalMilliseconds);
            }
        }

        Console.WriteLine();
        Console.WriteLine("| source | quant | pull, verify, convert: median (ms) | min (ms) | max (ms) |");
        Console.WriteLine("| --- | --- | --- | --- | --- |");
        foreach (var (id, times) in pulls)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {id.Split('-')[0]} | {id.Split('-')[1]} | {Statistics.Median(times):F1} | {times.Min():F1} | {times.Max():F1} |"));
        }

        var (first, second) = await FirstRequestsAsync(temp, server, rounds);
        Console.WriteLine();
        Console.WriteLine("| request on a fresh node (stories260K int4 from loopback HTTP, 8 tokens) | median (ms) | min (ms) | max (ms) |");
        Console.WriteLine("| --- | --- | --- | --- |");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| first: pull, convert, load, answer | {Statistics.Median(first):F1} | {first.Min():F1} | {first.Max():F1} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| second: answer | {Statistics.Median(second):F1} | {second.Min():F1} | {second.Max():F1} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"obtaining the model on demand costs the first request {Statistics.Median(first) - Statistics.Median(second):F0} ms at the median"));
        return 0;
    }

    private static async Task<(List<double> First, List<double> Second)> FirstRequestsAsync(TempDirectory temp, ModelSourceServer server, int rounds)
    {
        string catalog = StoriesCatalog.Write(temp.Combine("node-catalog.json"), StoriesCatalog.Model("stories260k-int4", "int4", StoriesCatalog.Source(server.Url("stories260K.bin"), server.Url("tok512.bin"))));
        await using var broker = await MosquittoBroker.StartAsync();
        using var requester = await BenchmarkRequester.ConnectAsync(broker, AnswerTopic);
        var first = new List<double>();
        var second = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            await using var node = await BenchmarkNode.StartAsync(broker, temp, $"Node:Id=bench-store-{round}", $"Models:CatalogPath={catalog}", "Models:OnDemand=auto", "Mqtt:RequestTopic=bench/store/ask/#");
            first.Add(await AskAsync(requester, $"f{round}"));
            second.Add(await AskAsync(requester, $"s{round}"));
        }

        return (first, second);
    }

    private static Task<double> AskAsync(MQTTnet.IMqttClient requester, string id) =>
        BenchmarkRequester.TimeAsync(requester, "bench/store/ask/q", Encoding.UTF8.GetBytes($$"""{"id": "{{id}}", "prompt": "Once upon a time", "maxTokens": 8}"""), AnswerTopic, expect: $"\"{id}\"");
}
