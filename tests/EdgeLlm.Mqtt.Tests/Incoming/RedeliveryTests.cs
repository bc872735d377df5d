using EdgeLlm.Core.Options;
using EdgeLlm.Mqtt.Connection;
using EdgeLlm.Mqtt.Incoming;
using EdgeLlm.Tests;
using MQTTnet;
using MQTTnet.Protocol;
using Microsoft.Extensions.Logging.Abstractions;
using static Microsoft.Extensions.Options.Options;

namespace EdgeLlm.Mqtt.Tests.Incoming;

/// <summary>
/// Requests the front door has taken but not answered are not yet acknowledged: a real Mosquitto restarted
/// meanwhile sends them again (DUP), and the door hands the pipeline only what it has not taken already.
/// </summary>
public sealed class RedeliveryTests
{
    [MosquittoFact]
    public async Task RequestsTakenAndUnanswered_ComeAgainAfterABrokerRestart_AndAPlainOneIsNotTakenTwice()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        var options = new MqttOptions { Server = broker.Server };
        var node = new NodeOptions { Id = $"pi-{Guid.NewGuid():N}"[..16] };
        await using var connection = new MqttConnection(Create(options), MqttPresence.Node(options, node), TimeProvider.System, NullLogger<MqttConnection>.Instance);
        var pipeline = new RecordingPipeline { Holding = true };
        var door = new MqttFrontDoor(Create(options), Create(node), connection, pipeline, Create(new AdmissionOptions()), TimeProvider.System, NullLogger<MqttFrontDoor>.Instance);
        await door.StartAsync(CancellationToken.None);
        await using var sensor = await RecordingClient.ConnectAsync(BrokerEndpoint.Parse(broker.Server).Port);
        await sensor.PublishAsync(Request("edgellm/ask/sensor-1", "cold room temperature?"));
        await sensor.PublishAsync(Request("edgellm/ask/panel-1", """{"id": "e1", "prompt": "cold room temperature?"}"""));
        Assert.Null((await pipeline.NextSubmissionAsync()).Request.Id);
        Assert.Equal("e1", (await pipeline.NextSubmissionAsync()).Request.Id);

        await broker.RestartAsync(downtime: TimeSpan.FromSeconds(1));

        // Both come again, in order. The envelope is handed on (the pipeline tells it by its id: its duplicate
        // window); the plain text, marked DUP and taken already, is not: the envelope after it arrives alone.
        var again = await pipeline.NextSubmissionAsync();
        Assert.Equal("e1", again.Request.Id);
        Assert.Equal(0, pipeline.Submitted);
        await door.StopAsync(CancellationToken.None);
    }

    private static MqttApplicationMessage Request(string topic, string payload) =>
        new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
}
