using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Tests;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace EdgeLlm.Benchmarks;

/// <summary>
/// The chaos soak (`soak --minutes N`, bounded; not in CI): on one Mosquitto, 100 sensors (MQTT 3.1.1, plain
/// text, each on its own topic, one request at a time) and 20 panels (MQTT 5 envelopes with ids and
/// deadlines, a third of them streamed) at a steady rate against two devices sharing the request
/// subscription and a gateway above them (every "medical" request goes up) in front of a loopback
/// OpenAI-compatible server, while a chaos loop in turn restarts the broker, SIGKILLs and restarts a device,
/// SIGKILLs and restarts the gateway, and stops the upstream server for a while. A ledger keyed
/// by request id counts, for every request the broker accepted: exactly one final reply (repeats of the
/// same reply counted apart, as QoS 1 allows), none lost, none after its deadline; and for the device
/// never killed, RSS, open descriptors and threads after warm-up and at the end.
/// </summary>
internal static class SoakBenchmark
{
    private const int Sensors = 100;
    private const int Panels = 20;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    public static async Task<int> RunAsync(BenchmarkArguments arguments)
    {
        var length = TimeSpan.FromMinutes(arguments.Int("--minutes", 10));
        using var temp = new TempDirectory();
        string deviceModel = BenchmarkNode.BuildStories(temp, Quantization.Int4);
        // The data centre's server: an answer takes 50 ms.
        var upstreamDelay = TimeSpan.FromMilliseconds(50);
        var upstream = FakeOpenAiServer.Start(upstreamDelay);
        int upstreamCalls = 0;
        await using var broker = await MosquittoBroker.StartAsync();
        Console.WriteLine($"EdgeLlm chaos soak: {Environment.ProcessorCount} cores, {LocalTierBenchmark.CpuModel()}, {Sensors} sensors (3.1.1), {Panels} panels (MQTT 5), two devices and a gateway, {length.TotalMinutes:F0} minutes");

        string[] Device(string id) => [$"Node:Id={id}", $"Models:Local={deviceModel}", "Mqtt:RequestTopic=$share/devices/edgellm/ask/#", "Upstream:Tier=1", "Upstream:TimeoutMs=8000", $"Models:StorePath={temp.Combine(id)}", "Mqtt:StatusIntervalSeconds=2"];
        string[] gateway = ["Node:Id=gw", "Node:Tier=1", $"Models:OpenAi:Endpoint={upstream.Endpoint}", "Models:OpenAi:Model=big-model", "Models:OpenAi:Quality=0.9", "Admission:MaxPerRequester=8", "Mqtt:RequestTopic=edgellm/gw/ask/#", $"Models:StorePath={temp.Combine("gw")}", "Mqtt:StatusIntervalSeconds=2"];
        var nodes = new Dictionary<string, BenchmarkNode>
        {
            ["gw"] = await BenchmarkNode.StartAsync(broker, temp, gateway),
            ["dev-a"] = await BenchmarkNode.StartAsync(broker, temp, Device("dev-a")),
            ["dev-b"] = await BenchmarkNode.StartAsync(broker, temp, Device("dev-b")),
        };
        var ledger = new Ledger();
        using var stop = new CancellationTokenSource(length);
        var clients = await Task.WhenAll(Enumerable.Range(0, Sensors).Select(i => Requester.ConnectAsync(broker, $"sensor-{i}", MqttProtocolVersion.V311, ledger))
            .Concat(Enumerable.Range(0, Panels).Select(i => Requester.ConnectAsync(broker, $"panel-{i}", MqttProtocolVersion.V500, ledger))));
        try
        {
            var load = clients.Select((client, i) => client.RunAsync(i < Sensors ? TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(3), stream: i >= Sensors && i % 3 == 0, stop.Token)).ToList();
            // The node's bounded windows (the duplicate window, Admission:DuplicateWindowSeconds: 300 s) fill in the
            // first minutes, so the drift is measured from a fifth of the run; from the first minute as well.
            var watched = nodes["dev-b"];
            var firstMinute = TimeSpan.FromSeconds(Math.Min(60, length.TotalSeconds / 5));
            await Task.Delay(firstMinute, stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            double rssFirstMinute = watched.RssMb();
            await Task.Delay(length / 5 - firstMinute, stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            double rssWarm = watched.RssMb();
            var handlesWarm = watched.Handles();
            int chaos = 0;
            var events = new List<string>();
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(45), stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                if (stop.IsCancellationRequested)
                {
                    break;
                }

                switch (chaos++ % 4)
                {
                    case 0:
                        await broker.RestartAsync(downtime: TimeSpan.FromSeconds(2));
                        events.Add("broker restarted");
                        break;
                    case 1:
                        await nodes["dev-a"].KillAsync();
                        await nodes["dev-a"].DisposeAsync();
                        nodes["dev-a"] = await BenchmarkNode.StartAsync(broker, temp, Device("dev-a"));
                        events.Add("dev-a killed and restarted");
                        break;
                    case 2:
                        await nodes["gw"].KillAsync();
                        await nodes["gw"].DisposeAsync();
                        nodes["gw"] = await BenchmarkNode.StartAsync(broker, temp, gateway);
                        events.Add("gateway killed and restarted");
                        break;
                    default:
                        int port = upstream.Port;
                        upstreamCalls += upstream.Count;
                        await upstream.DisposeAsync();
                        await Task.Delay(TimeSpan.FromSeconds(5));
                        upstream = FakeOpenAiServer.Start(upstreamDelay, port: port);
                        events.Add("upstream server stopped for 5 s");
                        break;
                }
            }

            await Task.WhenAll(load);
            // The last requests' replies, up to their deadline.
            await Task.Delay(Deadline + TimeSpan.FromSeconds(5));
            var handlesEnd = watched.Handles();
            Report(ledger, events, (rssFirstMinute, rssWarm, watched.RssMb()), handlesWarm, handlesEnd);
            Console.WriteLine($"the upstream server answered {upstreamCalls + upstream.Count} calls");
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }

            foreach (var node in nodes.Values)
            {
                await node.DisposeAsync();
            }

            await upstream.DisposeAsync();
        }

        return 0;
    }

    private static void Report(Ledger ledger, List<string> events, (double FirstMinute, double Warm, double End) rss, (int Descriptors, int Threads) warm, (int Descriptors, int Threads) end)
    {
        var entries = ledger.Entries;
        int once = entries.Count(e => e.Finals.Distinct().Count() == 1);
        int repeats = entries.Count(e => e.Finals.Count > 1 && e.Finals.Distinct().Count() == 1);
        int twice = entries.Count(e => e.Finals.Distinct().Count() > 1);
        int lost = entries.Count(e => e.Finals.Count == 0);
        int late = entries.Count(e => e.Finals.Count > 0 && e.FirstFinalAfter > Deadline + TimeSpan.FromSeconds(1));
        var errors = entries.Where(e => e.Finals.Count > 0).GroupBy(e => e.Error ?? "answer").OrderByDescending(g => g.Count()).Select(g => $"{g.Key} {g.Count()}");
        Console.WriteLine();
        Console.WriteLine($"chaos: {string.Join("; ", events.GroupBy(e => e).Select(g => $"{g.Key} ×{g.Count()}"))}");
        Console.WriteLine();
        Console.WriteLine("| accepted requests | exactly one final reply | of which repeated (same reply) | two different finals | none (lost) | after deadline + 1 s |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
        Console.WriteLine($"| {entries.Count} | {once} | {repeats} | {twice} | {lost} | {late} |");
        Console.WriteLine();
        Console.WriteLine($"final replies: {string.Join(", ", errors)}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"dev-b (never killed): RSS {rss.FirstMinute:F1} MB after a minute, {rss.Warm:F1} MB after warm-up (a fifth of the run), {rss.End:F1} MB at the end ({100 * (rss.End - rss.Warm) / rss.Warm:+0.0;-0.0}% since warm-up, {100 * (rss.End - rss.FirstMinute) / rss.FirstMinute:+0.0;-0.0}% since the first minute); descriptors {warm.Descriptors} → {end.Descriptors}; threads {warm.Threads} → {end.Threads}"));
    }

    /// <summary>Every request the broker accepted, by id, with the final replies that came for it.</summary>
    private sealed class Ledger
    {
        private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

        public IReadOnlyList<Entry> Entries => [.. _entries.Values];

        public void Accepted(string id) => _entries[id] = new Entry();

        /// <summary>A request the broker did not take after all (it was away): out of the ledger.</summary>
        public void Refused(string id) => _entries.TryRemove(id, out _);

        public void Final(string id, string payload, string? error)
        {
            if (_entries.TryGetValue(id, out var entry))
            {
                entry.Add(payload, error);
            }
        }
    }

    private sealed class Entry
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly List<string> _finals = [];

        public IReadOnlyList<string> Finals
        {
            get
            {
                lock (_finals)
                {
                    return [.. _finals];
                }
            }
        }

        public string? Error { get; private set; }

        public TimeSpan FirstFinalAfter { get; private set; }

        public void Add(string payload, string? error)
        {
            lock (_finals)
            {
                if (_finals.Count == 0)
                {
                    FirstFinalAfter = _clock.Elapsed;
                    Error = error;
                }

                _finals.Add(payload);
            }
        }
    }

    /// <summary>A sensor (3.1.1, plain text on its own topic, its answer on the same topic) or a panel (MQTT 5, envelopes).</summary>
    private sealed class Requester(IMqttClient client, string name, MqttProtocolVersion version, Ledger ledger) : IDisposable
    {
        private readonly SemaphoreSlim _answered = new(0);
        private string? _pending;
        private int _port;

        private string Topic => $"edgellm/ask/{name}";

        private string ReplyTopic => $"soak/reply/{name}";

        public static async Task<Requester> ConnectAsync(MosquittoBroker broker, string name, MqttProtocolVersion version, Ledger ledger)
        {
            var client = new MqttClientFactory().CreateMqttClient();
            var requester = new Requester(client, name, version, ledger);
            client.ApplicationMessageReceivedAsync += requester.OnMessageAsync;
            await requester.ConnectAsync(broker.Port);
            return requester;
        }

        /// <summary>One request every <paramref name="period"/> (waiting for the last one's reply first, up to its deadline), until stopped.</summary>
        public async Task RunAsync(TimeSpan period, bool stream, CancellationToken stop)
        {
            int n = 0;
            var jitter = new Random(name.GetHashCode(StringComparison.Ordinal));
            await Task.Delay(TimeSpan.FromMilliseconds(jitter.Next((int)period.TotalMilliseconds)), stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            while (!stop.IsCancellationRequested)
            {
                string id = $"{name}-{n++}";
                bool medical = n % 4 == 0;
                // In the ledger before it is sent, so that no reply can come before its entry.
                ledger.Accepted(id);
                _pending = id;
                try
                {
                    await EnsureConnectedAsync();
                    await client.PublishAsync(Request(id, medical, stream), CancellationToken.None);
                }
                catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException or OperationCanceledException)
                {
                    // Not accepted (the broker was away): out of the ledger; the next one after a reconnection.
                    ledger.Refused(id);
                    await Task.Delay(period, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    continue;
                }

                await _answered.WaitAsync(Deadline + TimeSpan.FromSeconds(5), CancellationToken.None);

                await Task.Delay(period, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        public void Dispose()
        {
            client.Dispose();
            _answered.Dispose();
        }

        private MqttApplicationMessage Request(string id, bool medical, bool stream)
        {
            var builder = new MqttApplicationMessageBuilder().WithTopic(Topic).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
            if (version == MqttProtocolVersion.V311)
            {
                // A sensor's plain text: no id on the wire; its one outstanding request is the one answered.
                return builder.WithPayload(medical ? "What does a fever of 39 mean?" : "Once upon a time").Build();
            }

            string domain = medical ? ", \"domain\": \"medical\"" : "";
            return builder.WithPayload($$"""{"id": "{{id}}", "prompt": "Once upon a time", "maxTokens": 16, "maxLatencyMs": {{(int)Deadline.TotalMilliseconds}}, "stream": {{(stream ? "true" : "false")}}{{domain}}}""")
                .WithResponseTopic(ReplyTopic).WithCorrelationData(Encoding.UTF8.GetBytes(id)).Build();
        }

        private Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
        {
            var message = e.ApplicationMessage;
            string payload = Encoding.UTF8.GetString(message.Payload);
            string? id = version == MqttProtocolVersion.V311
                ? (message.Topic == Topic && payload != "Once upon a time" && payload != "What does a fever of 39 mean?" ? _pending : null)
                : message.CorrelationData is { } data ? Encoding.UTF8.GetString(data) : null;
            bool chunk = message.UserProperties?.Any(p => p.Name == "edgellm-type" && Encoding.UTF8.GetString(p.ValueBuffer.Span) == "chunk") is true;
            if (id is not null && !chunk)
            {
                string? error = version == MqttProtocolVersion.V311
                    ? (payload.StartsWith("error: ", StringComparison.Ordinal) ? payload.Split(':')[1].Trim() : null)
                    : message.UserProperties?.FirstOrDefault(p => p.Name == "edgellm-error") is { } property ? Encoding.UTF8.GetString(property.ValueBuffer.Span) : null;
                ledger.Final(id, payload, error);
                if (id == _pending)
                {
                    _answered.Release();
                }
            }

            return Task.CompletedTask;
        }

        private async Task EnsureConnectedAsync()
        {
            if (!client.IsConnected)
            {
                await ConnectAsync(port: null);
            }
        }

        private async Task ConnectAsync(int? port)
        {
            _port = port ?? _port;
            await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", _port).WithProtocolVersion(version).WithClientId($"soak-{name}")
                .WithCleanSession(false).WithSessionExpiryInterval(600).WithTimeout(TimeSpan.FromSeconds(10)).Build());
            await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(version == MqttProtocolVersion.V311 ? Topic : ReplyTopic, MqttQualityOfServiceLevel.AtLeastOnce).Build());
        }
    }
}
