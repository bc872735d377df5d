using System.Text.Json;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>
/// A fleet of more than one site, as it is deployed (docs/escalation.md): each site's devices on a site
/// broker, bridged (Mosquitto's MQTT 5 bridge) to a central broker where the gateways are. What a device
/// escalates crosses the bridge and its answer comes back; a bridge cut while requests are on their way
/// leaves none unanswered and answers none twice. (It found that Mosquitto 2.0.11 restores a session from
/// its persistence without its shared subscriptions: the node now subscribes again after every reconnection.)
/// </summary>
public sealed class BridgedSitesTests(NodeModels models) : IClassFixture<NodeModels>
{
    [MosquittoFact]
    public async Task ADeviceOnASiteBroker_EscalatesAcrossTheBridge_AndThroughACutEveryRequestIsAnsweredOnce()
    {
        await using var central = await MosquittoBroker.StartAsync();
        using var fleet = new TestFleet(central.Server);
        await using var site = await MosquittoBroker.StartAsync(Bridge(central, fleet.Prefix));
        await using var gateway = await fleet.StartAsync("gw", 1, $"Models:Local={models.StoriesAs(Quantization.Fp32)}");
        // No model of its own: all it is asked goes up, over the bridge.
        await using var device = await fleet.StartAsync("dev", 0, $"Mqtt:Server={site.Server}", "Upstream:Tier=1", "Upstream:TimeoutMs=12000");
        await TestFleet.WaitUntilReachableAsync(device, "gw");
        await using var requester = await TestRequester.ConnectAsync(site.Server, persistentSession: true);
        // Mosquitto says on the site broker whether its bridge is up: 1, 0 when cut, 1 again.
        await using var bridge = await TestRequester.ConnectAsync(site.Server, subscribe: "$SYS/broker/connection/+/state");
        await bridge.WaitForAsync(r => r.Text == "1", TimeSpan.FromSeconds(20));
        // The gateway's statuses as the site sees them (retained, then every second).
        await using var statuses = await TestRequester.ConnectAsync(site.Server, subscribe: $"{fleet.Prefix}/node/gw/status");

        for (int i = 0; i < 4; i++)
        {
            await requester.PublishAsync(fleet.AskTopic("dev"), $$"""{"id": "b{{i}}", "prompt": "Once upon a time", "maxTokens": 24, "maxLatencyMs": 30000}""", correlation: $"b{i}");
        }

        await requester.WaitForAsync(r => r.Correlation == "b0", TimeSpan.FromSeconds(30));
        // The cut: the central broker goes away (the gateway's link and the bridge with it) and comes back.
        int statusesBeforeTheCut = statuses.All.Count;
        await central.RestartAsync(downtime: TimeSpan.FromSeconds(2));
        await Eventually.TrueAsync(() => bridge.All.Select(r => r.Text).SkipWhile(t => t != "0").Skip(1).Contains("1"), TimeSpan.FromSeconds(30), "the bridge up again");
        // Mosquitto may bring the gateway's restored session back with its will (offline) before the gateway is
        // back: the site is whole again once a status of the gateway's since the cut says online, and the latest does.
        await Eventually.TrueAsync(() => statuses.All.Skip(statusesBeforeTheCut).Any(Online) && Online(statuses.All.Last()), TimeSpan.FromSeconds(30), "the gateway online again, as the site hears it");
        await TestFleet.WaitUntilReachableAsync(device, "gw");
        for (int i = 4; i < 6; i++)
        {
            await requester.PublishAsync(fleet.AskTopic("dev"), $$"""{"id": "b{{i}}", "prompt": "Once upon a time", "maxTokens": 24, "maxLatencyMs": 30000}""", correlation: $"b{i}");
        }

        var replies = await requester.WaitForCountAsync(6, TimeSpan.FromSeconds(60), quietFor: TimeSpan.FromSeconds(2));
        // One answer each; a QoS 1 repeat across the cut is the same message, byte for byte.
        var answers = replies.GroupBy(r => r.Correlation).ToList();
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"b{i}"), answers.Select(a => a.Key).Order(StringComparer.Ordinal));
        Assert.All(answers, a => Assert.Single(a.Select(r => r.Text).Distinct()));
        // Asked before the cut and after the bridge was back: answered by the gateway. Caught in the cut: its
        // answer, or (Mosquitto 2.0.11 drops what it held for a shared subscription when it restarts) the
        // device's upstream-unavailable once its time for the upstream is out; never nothing, never two.
        Assert.All(answers.Where(a => a.Key is "b0" or "b4" or "b5"), a => Escalated(a.First()));
        Assert.All(answers.Select(a => a.First()).Where(r => r.Error is not null), r => Assert.Equal("upstream-unavailable", r.Error));
        Assert.All(answers.Select(a => a.First()).Where(r => r.Error is null), Escalated);
    }

    private static bool Online(Received status) => JsonDocument.Parse(status.Payload).RootElement.GetProperty("online").GetBoolean();

    private static void Escalated(Received reply)
    {
        Assert.True(reply.Error is null, reply.Text);
        var answer = JsonDocument.Parse(reply.Payload).RootElement;
        Assert.Equal(("gw", 1, "escalated"), (answer.GetProperty("node").GetString(), answer.GetProperty("tier").GetInt32(), answer.GetProperty("route").GetProperty("decision").GetString()));
    }

    // The site broker's bridge to the central one: the fleet's topics both ways, MQTT 5 (response topics,
    // correlation data and user properties cross), a kept session so that what is sent while it is cut waits.
    private static string[] Bridge(MosquittoBroker central, string prefix) =>
    [
        "allow_anonymous true",
        "connection central",
        $"address 127.0.0.1:{central.Port}",
        "bridge_protocol_version mqttv50",
        "cleansession false",
        "local_cleansession false",
        "restart_timeout 1",
        $"topic {prefix}/# both 1",
    ];
}
