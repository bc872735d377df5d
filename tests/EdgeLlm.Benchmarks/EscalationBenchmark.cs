using System.Globalization;
using System.Text;
using EdgeLlm.Tests;
using MQTTnet;

namespace EdgeLlm.Benchmarks;

/// <summary>
/// The latency one escalation hop adds (docs/design.md §4): the same 1-token request asked of a gateway (tier 1,
/// stories260K int8) directly, and through a device (tier 0, no model of its own) that escalates it to the
/// gateway and relays the answer, in alternating blocks on one Mosquitto broker on loopback.
/// </summary>
internal static class EscalationBenchmark
{
    private const int Block = 100;
    private const string AnswerTopic = "bench/answer";

    public static async Task<int> RunAsync(BenchmarkArguments arguments)
    {
        int requests = arguments.Int("--requests", 1000);
        using var temp = new TempDirectory();
        string model = BenchmarkNode.BuildStories(temp);
        await using var broker = await MosquittoBroker.StartAsync();
        Console.WriteLine($"EdgeLlm escalation benchmark: {Environment.ProcessorCount} cores, {LocalTierBenchmark.CpuModel()}, Mosquitto on port {broker.Port}, {requests} requests each way");

        await using var gateway = await BenchmarkNode.StartAsync(broker, temp, "Node:Id=bench-gw", "Node:Tier=1", $"Models:Local={model}", "Mqtt:RequestTopic=bench/gw/ask/#");
        await using var device = await BenchmarkNode.StartAsync(broker, temp, "Node:Id=bench-dev", "Node:Tier=0", "Upstream:Tier=1", "Mqtt:RequestTopic=bench/dev/ask/#");
        using var requester = await BenchmarkRequester.ConnectAsync(broker, AnswerTopic);

        var (direct, escalated) = await MeasureAsync(requester, requests);

        Console.WriteLine();
        Console.WriteLine("| path | requests | p50 (ms) | p99 (ms) | mean (ms) |");
        Console.WriteLine("| --- | --- | --- | --- | --- |");
        Row("requester → gateway (tier 1)", direct);
        Row("requester → device (tier 0) → gateway → device → requester", escalated);
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"one escalation hop adds: p50 {Statistics.Median(escalated) - Statistics.Median(direct):F2} ms, p99 {Statistics.Percentile(escalated, 99) - Statistics.Percentile(direct, 99):F2} ms"));
        return 0;
    }

    // Alternating blocks of direct and escalated requests, after a warm-up of both.
    private static async Task<(List<double> Direct, List<double> Escalated)> MeasureAsync(IMqttClient requester, int requests)
    {
        for (int i = 0; i < 50; i++)
        {
            await AskAsync(requester, "bench/gw/ask/q", $"w{i}");
            await AskAsync(requester, "bench/dev/ask/q", $"v{i}");
        }

        var direct = new List<double>();
        var escalated = new List<double>();
        for (int done = 0; done < requests; done += Block)
        {
            for (int i = 0; i < Block; i++)
            {
                direct.Add(await AskAsync(requester, "bench/gw/ask/q", $"d{done + i}"));
            }

            for (int i = 0; i < Block; i++)
            {
                escalated.Add(await AskAsync(requester, "bench/dev/ask/q", $"e{done + i}"));
            }
        }

        return (direct, escalated);
    }

    private static Task<double> AskAsync(IMqttClient requester, string topic, string id) =>
        BenchmarkRequester.TimeAsync(requester, topic, Encoding.UTF8.GetBytes($$"""{"id": "{{id}}", "prompt": "Once", "maxTokens": 1}"""), AnswerTopic, expect: $"\"{id}\"");

    private static void Row(string path, List<double> times) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {path} | {times.Count} | {Statistics.Median(times):F2} | {Statistics.Percentile(times, 99):F2} | {times.Average():F2} |"));
}
