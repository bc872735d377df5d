using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Checkpoints;
using EdgeLlm.Tests;
using MQTTnet;
using MQTTnet.Protocol;

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
        string model = BuildModel(temp);
        await using var broker = await MosquittoBroker.StartAsync();
        Console.WriteLine($"EdgeLlm MQTT benchmark: {Environment.ProcessorCount} cores, {LocalTierBenchmark.CpuModel()}, Mosquitto on port {broker.Port}, {requests} requests each");

        var readyTimes = new List<double>();
        for (int start = 0; start < 3; start++)
        {
            await using var probe = await StartNodeAsync(broker, model, temp);
            readyTimes.Add(probe.ReadyMs);
        }

        await using var node = await StartNodeAsync(broker, model, temp);
        using var echo = StartEcho(broker);
        using var requester = await ConnectAsync(broker);
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

    private static string BuildModel(TempDirectory temp)
    {
        string folder = temp.Combine("stories260k-int8");
        if (SharedModels.Available)
        {
            using var checkpoint = Llama2cCheckpoint.Open(SharedModels.Checkpoint);
            ModelFolderBuilder.Build(checkpoint, Llama2cVocabulary.Read(SharedModels.Tokenizer, checkpoint.Shape.VocabSize), Quantization.Int8, folder, force: false);
        }
        else
        {
            ModelFolderBuilder.Build(new SyntheticWeights("stories260k", 1), Llama2cVocabulary.Bytes(), Quantization.Int8, folder, force: false);
        }

        return folder;
    }

    private static Task<double> AskEchoAsync(IMqttClient requester, int n) =>
        TimeAsync(requester, "bench/echo/ask", Encoding.UTF8.GetBytes($"echo {n}"), responseTopic: null, expect: $"echo {n}");

    private static Task<double> AskNodeAsync(IMqttClient requester, int n) =>
        TimeAsync(requester, "edgellm/ask/bench", Encoding.UTF8.GetBytes($$"""{"id": "b{{n}}", "prompt": "Once", "maxTokens": 1}"""), responseTopic: "bench/node/answer", expect: $"\"b{n}\"");

    // One request at a time: publish, then wait for the reply that carries the expected marker.
    private static async Task<double> TimeAsync(IMqttClient requester, string topic, byte[] payload, string? responseTopic, string expect)
    {
        var reply = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task Handler(MqttApplicationMessageReceivedEventArgs e)
        {
            if (Encoding.UTF8.GetString(e.ApplicationMessage.Payload).Contains(expect, StringComparison.Ordinal))
            {
                reply.TrySetResult();
            }

            return Task.CompletedTask;
        }

        requester.ApplicationMessageReceivedAsync += Handler;
        try
        {
            var message = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
            if (responseTopic is not null)
            {
                message.WithResponseTopic(responseTopic).WithCorrelationData(Encoding.UTF8.GetBytes(expect));
            }

            var clock = Stopwatch.StartNew();
            await requester.PublishAsync(message.Build());
            await reply.Task.WaitAsync(TimeSpan.FromSeconds(10));
            return clock.Elapsed.TotalMilliseconds;
        }
        finally
        {
            requester.ApplicationMessageReceivedAsync -= Handler;
        }
    }

    private static async Task<IMqttClient> ConnectAsync(MosquittoBroker broker)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).WithClientId("bench-requester").Build());
        await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter("bench/echo/answer", MqttQualityOfServiceLevel.AtLeastOnce)
            .WithTopicFilter("bench/node/answer", MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());
        return client;
    }

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

    private static async Task<BenchmarkNode> StartNodeAsync(MosquittoBroker broker, string model, TempDirectory temp)
    {
        string socketPath = temp.Combine($"notify-{Guid.NewGuid():N}.sock");
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "edgellm"), ["serve"]);
        start.Environment["NOTIFY_SOCKET"] = socketPath;
        start.Environment["EDGELLM_CONFIG_DIR"] = "/nonexistent/edgellm-benchmark-config";
        start.Environment["EDGELLM__Mqtt__Server"] = broker.Server;
        start.Environment["EDGELLM__Models__Local"] = model;
        start.Environment["EDGELLM__Logging__LogLevel__Default"] = "Warning";
        start.Environment["EDGELLM__Node__Id"] = "bench";
        var clock = Stopwatch.StartNew();
        var process = Process.Start(start) ?? throw new InvalidOperationException("edgellm did not start");
        var buffer = new byte[64];
        while (true)
        {
            int length = await socket.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(30));
            if (Encoding.ASCII.GetString(buffer, 0, length).Contains("READY=1", StringComparison.Ordinal))
            {
                return new BenchmarkNode(process, socket, clock.Elapsed.TotalMilliseconds);
            }
        }
    }

    private sealed class BenchmarkNode(Process process, Socket socket, double readyMs) : IAsyncDisposable
    {
        public double ReadyMs => readyMs;

        public double RssMb()
        {
            string line = File.ReadLines($"/proc/{process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
        }

        public async Task StopAsync()
        {
            if (!process.HasExited)
            {
                Signals.Terminate(process);
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            process.Dispose();
            socket.Dispose();
        }
    }
}
