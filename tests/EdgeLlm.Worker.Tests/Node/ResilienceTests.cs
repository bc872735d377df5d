using System.Net.Sockets;
using System.Text;
using EdgeLlm.Core.Processing;
using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>What happens when the broker or the node goes away: no accepted request is lost or answered twice.</summary>
public sealed class ResilienceTests(NodeModels models) : IClassFixture<NodeModels>, IDisposable
{
    private readonly TempDirectory _temp = new();

    [MosquittoFact]
    public async Task BrokerRestart_WithRequestsQueued_AnswersEachAcceptedRequestOnce()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        // One requester with six requests in the queue: past its default share (a quarter of 16), so allowed here.
        await using var node = await RunningNode.StartAsync($"Mqtt:Server={broker.Server}", $"Models:Local={models.Slow}", "Admission:MaxPerRequester=16");
        await using var requester = await TestRequester.ConnectAsync(broker.Server, persistentSession: true);
        for (int i = 0; i < 6; i++)
        {
            await requester.PublishAsync("edgellm/ask/restart", $$"""{"id": "r{{i}}", "prompt": "hello", "maxTokens": 300}""", correlation: $"r{i}");
        }

        // Once the first answer is out, the others are taken and waiting for the model. The restart comes while
        // the next one is generated (see docs/mqtt-front-door.md on QoS 1 duplicates).
        await requester.WaitForAsync(r => r.Correlation == "r0", TimeSpan.FromSeconds(30));
        var pipeline = node.Service<INodePipeline>();
        await Eventually.TrueAsync(() => pipeline.Activity.Generating, what: "the next generation");
        await broker.RestartAsync(downtime: TimeSpan.FromSeconds(1));
        await requester.ReconnectAsync();

        var replies = await requester.WaitForCountAsync(6, TimeSpan.FromSeconds(60), quietFor: TimeSpan.FromSeconds(2));
        // One answer each. The broker may hand a reply over twice (QoS 1: the requester's acknowledgement of r0
        // can still be on its way when the broker stops), but then it is the same message, byte for byte.
        var answers = replies.GroupBy(r => r.Correlation).ToList();
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"r{i}"), answers.Select(a => a.Key).Order());
        Assert.All(answers, a => Assert.Single(a.Select(r => r.Text).Distinct()));
        Assert.All(replies, r => Assert.Null(r.Error));
    }

    [MosquittoFact]
    public async Task SigtermDuringAGeneration_SendsTheTimeoutBeforeExiting()
    {
        var (exitCode, replies) = await TerminateDuringAGenerationAsync(graceSeconds: 1, maxTokens: 20000);

        Assert.Equal(0, exitCode);
        var reply = Assert.Single(replies);
        Assert.Equal("timeout", reply.Error);
        Assert.Contains("shut down", reply.Text);
    }

    [MosquittoFact]
    public async Task SigtermDuringAGeneration_FinishesItWithinTheGrace()
    {
        var (exitCode, replies) = await TerminateDuringAGenerationAsync(graceSeconds: 30, maxTokens: 300);

        Assert.Equal(0, exitCode);
        Assert.Null(Assert.Single(replies).Error);
    }

    [MosquittoFact]
    public async Task Systemd_HearsReadyOnceSubscribedThenWatchdogPingsThenStopping_AndLogsInTheJournalFormat()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        string socketPath = _temp.Combine("notify.sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        var received = new List<string>();
        var listening = Task.Run(async () =>
        {
            var buffer = new byte[256];
            while (true)
            {
                int length = await socket.ReceiveAsync(buffer, SocketFlags.None);
                string message = Encoding.ASCII.GetString(buffer, 0, length).Trim();
                lock (received)
                {
                    received.Add(message);
                }

                if (message.Contains("STOPPING=1", StringComparison.Ordinal))
                {
                    return;
                }
            }
        });

        // The parent is not systemd here, as the unit's ProtectProc=invisible makes it look to the node:
        // NOTIFY_SOCKET and JOURNAL_STREAM alone must turn on the notifications and the journal's log format.
        await using var node = NodeProcess.Start(
            [$"Mqtt:Server={broker.Server}", $"Models:Local={models.Stories}"],
            new Dictionary<string, string> { ["NOTIFY_SOCKET"] = socketPath, ["WATCHDOG_USEC"] = "400000", ["JOURNAL_STREAM"] = "0:1" });
        await node.WaitUntilListeningAsync();
        await Eventually.TrueAsync(() => Count(received, "WATCHDOG=1") >= 3, what: "three watchdog pings");
        node.Terminate();
        await node.WaitForExitAsync(TimeSpan.FromSeconds(30));
        await listening.WaitAsync(TimeSpan.FromSeconds(5));

        string[] messages = [.. received];
        Assert.Equal("READY=1", messages[0]);
        Assert.Contains("STOPPING=1", messages[^1]);
        Assert.All(messages[1..^1], m => Assert.Equal("WATCHDOG=1", m));
        Assert.Contains("<6>EdgeLlm.Mqtt.Incoming.MqttFrontDoor[3201] Listening for requests", node.Log);
    }

    public void Dispose() => _temp.Dispose();

    private static int Count(List<string> messages, string message)
    {
        lock (messages)
        {
            return messages.Count(m => m == message);
        }
    }

    // `edgellm serve` as systemd runs it, SIGTERM while it generates, and what the requester got by the exit.
    private async Task<(int ExitCode, IReadOnlyList<Received> Replies)> TerminateDuringAGenerationAsync(int graceSeconds, int maxTokens)
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var node = NodeProcess.Start([$"Mqtt:Server={broker.Server}", $"Models:Local={models.Slow}", $"Admission:ShutdownGraceSeconds={graceSeconds}"]);
        await node.WaitUntilListeningAsync();
        await using var requester = await TestRequester.ConnectAsync(broker.Server);

        await requester.PublishAsync("edgellm/ask/term", $$"""{"id": "g", "prompt": "hello", "maxTokens": {{maxTokens}}}""", correlation: "g");
        // Routed (its log says so) means its generation is starting.
        await Eventually.TrueAsync(() => node.Log.Contains("Request g routed local", StringComparison.Ordinal), what: "the generation of g");
        node.Terminate();

        int exitCode = await node.WaitForExitAsync(TimeSpan.FromSeconds(graceSeconds + 30));
        return (exitCode, await requester.WaitForCountAsync(1, TimeSpan.FromSeconds(5), quietFor: TimeSpan.FromSeconds(1)));
    }
}
