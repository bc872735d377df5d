using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using EdgeLlm.Tests;
using MQTTnet;
using MQTTnet.Protocol;

namespace EdgeLlm.Benchmarks;

/// <summary>
/// A thousand devices on one Mosquitto against 1, 2, 5 and 10 nodes sharing one request subscription
/// ($share/…, the broker spreading the work), stories260K int8 on each: every device connected at once
/// (MQTT 5, a reply topic of its own), then a burst of requests from all of them, as a fleet waking up.
/// For each number of nodes: requests answered and refused busy, throughput from the first request to the
/// last reply, request-to-answer p50 and p99, and the CPU the broker and the nodes used, so as to show where
/// the broker, not the nodes, becomes the limit. Needs as many file descriptors as devices (ulimit -n).
/// </summary>
internal static class ScaleBenchmark
{
    private const string Group = "$share/scale/edgellm/ask/#";

    public static async Task<int> RunAsync(BenchmarkArguments arguments)
    {
        int devices = arguments.Int("--devices", 1000);
        int perDevice = arguments.Int("--requests", 3);
        int[] nodeCounts = [1, 2, 5, 10];
        using var temp = new TempDirectory();
        string model = BenchmarkNode.BuildStories(temp);
        await using var broker = await MosquittoBroker.StartAsync();
        int brokerPid = BrokerProcess(broker);
        Console.WriteLine($"EdgeLlm scale benchmark: {Environment.ProcessorCount} cores, {LocalTierBenchmark.CpuModel()}, Mosquitto on port {broker.Port}, {devices} devices × {perDevice} requests, 1-token answers");

        var fleet = await Task.WhenAll(Enumerable.Range(0, devices).Select(i => Device.ConnectAsync(broker, i)));
        try
        {
            Console.WriteLine();
            Console.WriteLine("| nodes | requests | answered | busy | throughput (req/s) | p50 (ms) | p99 (ms) | broker CPU (s) | nodes' CPU (s) |");
            Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
            foreach (int count in nodeCounts)
            {
                var nodes = await Task.WhenAll(Enumerable.Range(0, count).Select(n => BenchmarkNode.StartAsync(broker, temp,
                    $"Models:Local={model}", $"Node:Id=scale-{count}-{n}", $"Mqtt:RequestTopic={Group}", "Admission:QueueCapacity=256", "Admission:MaxPerRequester=8",
                    // A node that leaves ends its session: Mosquitto would go on handing a departed session its share of the group.
                    "Mqtt:SessionExpirySeconds=0")));
                try
                {
                    // Each node's model in memory before the burst: one request each, through the shared subscription.
                    await fleet[0].AskAsync($"warm-{count}", count * 4);
                    double brokerCpu = BenchmarkNode.CpuSecondsOf(brokerPid);
                    double nodesCpu = nodes.Sum(n => n.CpuSeconds());
                    var clock = Stopwatch.StartNew();
                    var replies = await Task.WhenAll(fleet.SelectMany(d => Enumerable.Range(0, perDevice).Select(r => d.TimeAsync($"{count}-{r}"))));
                    double seconds = clock.Elapsed.TotalSeconds;
                    var answered = replies.Where(r => r.Error is null).Select(r => r.Milliseconds).ToList();
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {count} | {replies.Length} | {answered.Count} | {replies.Count(r => r.Error == "busy")} | {answered.Count / seconds:F0} | {Statistics.Median(answered):F0} | {Statistics.Percentile(answered, 99):F0} | {BenchmarkNode.CpuSecondsOf(brokerPid) - brokerCpu:F1} | {nodes.Sum(n => n.CpuSeconds()) - nodesCpu:F1} |"));
                }
                finally
                {
                    foreach (var node in nodes)
                    {
                        await node.DisposeAsync();
                    }
                }
            }
        }
        finally
        {
            foreach (var device in fleet)
            {
                device.Dispose();
            }
        }

        Console.WriteLine();
        Console.WriteLine("one run; every device publishes its requests at once (QoS 1) and waits for each reply (60 s at most)");
        return 0;
    }

    // The broker's process, found by its configuration folder on its command line.
    private static int BrokerProcess(MosquittoBroker broker) =>
        Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(name => name!.All(char.IsAsciiDigit)).Select(name => int.Parse(name!, CultureInfo.InvariantCulture))
            .First(pid => File.Exists($"/proc/{pid}/cmdline") && File.ReadAllText($"/proc/{pid}/cmdline").Contains(broker.Folder, StringComparison.Ordinal));

    /// <summary>One simulated device: its connection and its own reply topic, its requests told apart by correlation data.</summary>
    private sealed class Device : IDisposable
    {
        private readonly IMqttClient _client;
        private readonly int _index;
        private readonly ConcurrentDictionary<string, TaskCompletionSource<string?>> _waiting = new(StringComparer.Ordinal);

        private Device(IMqttClient client, int index)
        {
            _client = client;
            _index = index;
            _client.ApplicationMessageReceivedAsync += e =>
            {
                if (e.ApplicationMessage.CorrelationData is { } data && _waiting.TryRemove(Encoding.UTF8.GetString(data), out var reply))
                {
                    reply.TrySetResult(e.ApplicationMessage.UserProperties?.FirstOrDefault(p => p.Name == "edgellm-error")?.ValueBuffer is { } value ? Encoding.UTF8.GetString(value.Span) : null);
                }

                return Task.CompletedTask;
            };
        }

        private string ReplyTopic => $"bench/scale/reply/{_index}";

        public static async Task<Device> ConnectAsync(MosquittoBroker broker, int index)
        {
            var client = new MqttClientFactory().CreateMqttClient();
            await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
                .WithClientId($"scale-device-{index}").WithTimeout(TimeSpan.FromSeconds(30)).Build());
            var device = new Device(client, index);
            await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(device.ReplyTopic, MqttQualityOfServiceLevel.AtLeastOnce).Build());
            return device;
        }

        /// <summary>Asks <paramref name="times"/> times one after another (to warm every node), waiting for each.</summary>
        public async Task AskAsync(string id, int times)
        {
            for (int i = 0; i < times; i++)
            {
                await TimeAsync($"{id}-{i}");
            }
        }

        /// <summary>One request on the device's own topic: milliseconds to its reply, and the reply's error code.</summary>
        public async Task<(double Milliseconds, string? Error)> TimeAsync(string id)
        {
            string correlation = $"{_index}-{id}";
            var reply = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting[correlation] = reply;
            var clock = Stopwatch.StartNew();
            await _client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"edgellm/ask/device-{_index}")
                .WithPayload($$"""{"id": "{{correlation}}", "prompt": "Once", "maxTokens": 1}""").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithResponseTopic(ReplyTopic).WithCorrelationData(Encoding.UTF8.GetBytes(correlation)).Build());
            string? error = await reply.Task.WaitAsync(TimeSpan.FromSeconds(60));
            return (clock.Elapsed.TotalMilliseconds, error);
        }

        public void Dispose() => _client.Dispose();
    }
}
