using System.Diagnostics;
using System.Globalization;
using System.Text;
using EdgeLlm.Tests;
using MQTTnet;

namespace EdgeLlm.Benchmarks;

/// <summary>
/// The MQTT front door's cost: request-to-answer time of sequential requests with a 1-token answer, against
/// a bare echo responder (mosquitto_sub piped into mosquitto_pub) on the same Mosquitto broker as the floor,
/// in alternating blocks; the node's start-to-READY time (sd_notify) and idle RSS.
/// </summary>
internal static class MqttBenchmark
{
    private const int Block = 100;

    public static async Task<int> RunAsync(BenchmarkArguments arguments)
    {
        int requests = arguments.Int("--requests", 1000);
        using var temp = new TempDirectory();
        string model = BenchmarkNode.BuildStories(temp);
        await using var broker = await MosquittoBroker.StartAsync();
        Console.WriteLine($"EdgeLlm MQTT benchmark: {Environment.ProcessorCount} cores, {LocalTierBenchmark.CpuModel()}, Mosquitto on port {broker.Port}, {requests} requests each");

        var readyTimes = new List<double>();
        for (int start = 0; start < 3; start++)
        {
            await using var probe = await BenchmarkNode.StartAsync(broker, temp, $"Models:Local={model}", "Node:Id=bench");
            readyTimes.Add(probe.ReadyMs);
        }

        await using var node = await BenchmarkNode.StartAsync(broker, temp, $"Models:Local={model}", "Node:Id=bench");
        using var echo = StartEcho(broker);
        using var requester = await BenchmarkRequester.ConnectAsync(broker, "bench/echo/answer", "bench/node/answer");
        List<double> echoTimes;
        List<double> nodeTimes;
        double idleRssMb;
        try
        {
            // Let the node load its model and settle before measuring memory.
            await AskNodeAsync(requester, 0);
            await Task.Delay(TimeSpan.FromSeconds(3));
            idleRssMb = node.RssMb();
            (echoTimes, nodeTimes) = await MeasureAsync(requester, requests);
        }
        finally
        {
            echo.Kill(entireProcessTree: true);
        }

        Console.WriteLine();
        Console.WriteLine("| responder | requests | p50 (ms) | p99 (ms) | mean (ms) |");
        Console.WriteLine("| --- | --- | --- | --- | --- |");
        Row("echo (mosquitto_sub \\| mosquitto_pub)", echoTimes);
        Row("edgellm node, 1-token answer", nodeTimes);
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"node p50 - echo p50: {Statistics.Median(nodeTimes) - Statistics.Median(echoTimes):F2} ms"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"start to READY=1: {Statistics.Median(readyTimes):F0} ms (median of {readyTimes.Count} starts: {string.Join(", ", readyTimes.Select(t => t.ToString("F0", CultureInfo.InvariantCulture)))})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"idle RSS with stories260K int8 loaded: {idleRssMb:F0} MB"));
        return 0;
    }

    // Alternating blocks of echo and node requests, after a warm-up of both.
    private static async Task<(List<double> Echo, List<double> Node)> MeasureAsync(IMqttClient requester, int requests)
    {
        for (int i = 0; i < 50; i++)
        {
            await AskEchoAsync(requester, -i - 1);
            await AskNodeAsync(requester, -i - 1);
        }

        var echoTimes = new List<double>();
        var nodeTimes = new List<double>();
        for (int done = 0; done < requests; done += Block)
        {
            for (int i = 0; i < Block; i++)
            {
                echoTimes.Add(await AskEchoAsync(requester, done + i));
            }

            for (int i = 0; i < Block; i++)
            {
                nodeTimes.Add(await AskNodeAsync(requester, done + i + 1));
            }
        }

        return (echoTimes, nodeTimes);
    }

    private static void Row(string responder, List<double> times) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {responder} | {times.Count} | {Statistics.Median(times):F2} | {Statistics.Percentile(times, 99):F2} | {times.Average():F2} |"));

    private static Task<double> AskEchoAsync(IMqttClient requester, int n) =>
        BenchmarkRequester.TimeAsync(requester, "bench/echo/ask", Encoding.UTF8.GetBytes($"echo {n}"), responseTopic: null, expect: $"echo {n}");

    private static Task<double> AskNodeAsync(IMqttClient requester, int n) =>
        BenchmarkRequester.TimeAsync(requester, "edgellm/ask/bench", Encoding.UTF8.GetBytes($$"""{"id": "b{{n}}", "prompt": "Once", "maxTokens": 1}"""), responseTopic: "bench/node/answer", expect: $"\"b{n}\"");

    // The floor: a responder that does nothing but hand each request back, through the same broker.
    private static Process StartEcho(MosquittoBroker broker)
    {
        string port = broker.Port.ToString(CultureInfo.InvariantCulture);
        var echo = Process.Start(new ProcessStartInfo("bash", ["-c",
            $"mosquitto_sub -V 5 -h 127.0.0.1 -p {port} -q 1 -i bench-echo-in -t bench/echo/ask | mosquitto_pub -V 5 -h 127.0.0.1 -p {port} -q 1 -i bench-echo-out -t bench/echo/answer -l"]))
            ?? throw new InvalidOperationException("the echo responder did not start");
        Thread.Sleep(1000);
        return echo;
    }
}
