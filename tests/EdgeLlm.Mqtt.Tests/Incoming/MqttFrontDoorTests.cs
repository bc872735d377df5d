using System.Text;
using System.Text.Json;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Replies;
using EdgeLlm.Mqtt.Incoming;
using EdgeLlm.Mqtt.Outgoing;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using Microsoft.Extensions.Logging.Abstractions;
using static Microsoft.Extensions.Options.Options;

namespace EdgeLlm.Mqtt.Tests.Incoming;

/// <summary>The front door on its embedded broker, in this process: what comes in reaches the pipeline as it should, and every reply gets back.</summary>
public sealed class MqttFrontDoorTests : IAsyncLifetime
{
    private readonly EmbeddedNode _node = EmbeddedNode.Create();
    private readonly RecordingPipeline _pipeline = new();
    private MqttFrontDoor _door = null!;
    private RecordingClient _requester = null!;

    private string ReplyTopic => $"{_node.Mqtt.TopicPrefix}-panel/answers";

    public async Task InitializeAsync()
    {
        _door = new MqttFrontDoor(Create(_node.Mqtt), Create(_node.Node), _node.Connection, _pipeline, Create(new AdmissionOptions()), TimeProvider.System, NullLogger<MqttFrontDoor>.Instance);
        await _door.StartAsync(CancellationToken.None);
        _requester = await _node.ConnectClientAsync("panel-3");
        await _requester.SubscribeAsync(ReplyTopic);
    }

    public async Task DisposeAsync()
    {
        await _requester.DisposeAsync();
        await _door.StopAsync(CancellationToken.None);
        await _node.DisposeAsync();
    }

    [Fact]
    public async Task ARequest_ReachesThePipelineWithItsPathAndDeadline_AndItsAnswerTheResponseTopic()
    {
        byte[] correlation = [1, 2, 3, 4];
        await _requester.PublishAsync(Ask("""{"id": "r-1", "prompt": "fever", "maxLatencyMs": 5000}""", correlation, expirySeconds: 60, path: "hub, gw-1"));

        var submission = await _pipeline.NextSubmissionAsync();
        var reply = await _requester.NextAsync();

        Assert.Equal(("r-1", "fever"), (submission.Request.Id, submission.Request.Prompt));
        Assert.Equal(["hub", "gw-1"], submission.Path);
        Assert.Equal("node gw-1", submission.Requester);
        Assert.Equal(submission.ReceivedAt.AddMilliseconds(5000), submission.Deadline);
        Assert.Equal(correlation, reply.CorrelationData);
        Assert.Equal(MqttReplyTarget.AnswerType, UserProperty(reply, MqttReplyTarget.TypeProperty));
        var answer = JsonDocument.Parse(reply.Payload).RootElement;
        Assert.Equal(("r-1", "revef"), (answer.GetProperty("id").GetString(), answer.GetProperty("text").GetString()));
    }

    [Fact]
    public async Task AMessageThatExpiresFirst_SetsTheDeadline()
    {
        await _requester.PublishAsync(Ask("""{"prompt": "fever", "maxLatencyMs": 60000}""", correlation: null, expirySeconds: 3, path: null));

        var submission = await _pipeline.NextSubmissionAsync();

        // The embedded broker forwards what is left of the expiry, so it is 3 s or just under.
        Assert.InRange(submission.Deadline!.Value - submission.ReceivedAt, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task AMalformedEnvelope_IsRejectedWithTheParsersReason_UnderItsId_AndNothingIsSubmitted()
    {
        await _requester.PublishAsync(Ask("""{"id": "r-2", "prompt": "fever", "maxTokens": "many"}""", [9], expirySeconds: 0, path: null));

        var failure = await _pipeline.NextRejectionAsync();
        var reply = await _requester.NextAsync();

        Assert.Equal(new Failure("r-2", ErrorCode.BadRequest, "maxTokens must be a whole number from 1 to 65536"), failure);
        Assert.Equal("bad-request", UserProperty(reply, MqttReplyTarget.ErrorProperty));
        Assert.Equal(0, _pipeline.Submitted);
    }

    [Fact]
    public async Task APipelineThatThrows_StillAnswersInternal_AndTheDoorKeepsServing()
    {
        _pipeline.ThrowOnNext(1);

        await _requester.PublishAsync(Ask("""{"id": "r-3", "prompt": "first"}""", [3], expirySeconds: 0, path: null));
        var broken = await _requester.NextAsync();
        await _requester.PublishAsync(Ask("""{"id": "r-4", "prompt": "second"}""", [4], expirySeconds: 0, path: null));
        var answered = await _requester.NextAsync();

        Assert.Equal(("r-3", "internal"), (JsonDocument.Parse(broken.Payload).RootElement.GetProperty("id").GetString(), UserProperty(broken, MqttReplyTarget.ErrorProperty)));
        Assert.Equal("dnoces", JsonDocument.Parse(answered.Payload).RootElement.GetProperty("text").GetString());
    }

    [Fact]
    public async Task OnTheTierAskTopic_ARequestIsTaken_ButAnAnswerIsNot()
    {
        string tierAsk = _node.Mqtt.TierAskTopic(0);
        var answer = new MqttApplicationMessageBuilder().WithTopic(tierAsk).WithPayload("""{"text": "an answer"}""").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithUserProperty(MqttReplyTarget.TypeProperty, MqttReplyTarget.AnswerTypeBytes).Build();
        var request = new MqttApplicationMessageBuilder().WithTopic(tierAsk).WithPayload("a request").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithResponseTopic(ReplyTopic).Build();

        await _requester.PublishAsync(answer);
        await _requester.PublishAsync(request);
        var submission = await _pipeline.NextSubmissionAsync();

        // Delivered in order on one topic: had the answer been taken, it would have come first.
        Assert.Equal("a request", submission.Request.Prompt);
        Assert.Equal(0, _pipeline.Submitted);
    }

    [Fact]
    public async Task ARequester_IsItsTopicAndTheClientIdTheBrokerNames_WhateverItClaims()
    {
        var forged = new MqttApplicationMessageBuilder().WithTopic($"{_node.Mqtt.TopicPrefix}/ask/bay3").WithPayload("""{"id": "f", "prompt": "x"}""")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithResponseTopic(ReplyTopic)
            .WithUserProperty(Mqtt.Connection.EmbeddedBroker.SenderClientProperty, "someone-else"u8.ToArray()).Build();

        await _requester.PublishAsync(forged);
        var submission = await _pipeline.NextSubmissionAsync();

        Assert.Equal($"{_node.Mqtt.TopicPrefix}/ask/bay3 panel-3", submission.Requester);
    }

    [Theory]
    [InlineData("node/pi-09/cmd")]
    [InlineData("node/pi-09/status")]
    [InlineData("tier/1/ask")]
    [InlineData("ask/elsewhere")]
    public async Task AResponseTopicThatIsAControlTopic_IsRefusedAsBadRequest_AndNothingIsPublished(string relative)
    {
        string forbidden = $"{_node.Mqtt.TopicPrefix}/{relative}";
        await using var spy = await _node.ConnectClientAsync("spy");
        await spy.SubscribeAsync("#");
        var bad = new MqttApplicationMessageBuilder().WithTopic($"{_node.Mqtt.TopicPrefix}/ask/bay3").WithPayload("""{"id": "evil", "prompt": "x"}""")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithResponseTopic(forbidden).Build();

        await _requester.PublishAsync(bad);
        var refused = await _pipeline.NextRejectionAsync();
        await _requester.PublishAsync(Ask("""{"id": "marker", "prompt": "ok"}""", correlation: null, expirySeconds: 0, path: null));
        // The marker's answer goes out after anything the door sent for the refused request (one outbox, in order).
        var seen = new List<MqttApplicationMessage>();
        while (seen.LastOrDefault() is not { } last || last.Topic != ReplyTopic)
        {
            seen.Add(await spy.NextAsync());
        }

        Assert.Equal(("evil", ErrorCode.BadRequest), (refused.RequestId, refused.Code));
        Assert.Contains("is a control topic of the fleet", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(seen, m => m.Topic == forbidden);
        Assert.Equal("marker", (await _pipeline.NextSubmissionAsync()).Request.Id);
        Assert.Equal(0, _pipeline.Submitted);
    }

    private MqttApplicationMessage Ask(string payload, byte[]? correlation, uint expirySeconds, string? path)
    {
        var builder = new MqttApplicationMessageBuilder().WithTopic($"{_node.Mqtt.TopicPrefix}/ask/bay3").WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithResponseTopic(ReplyTopic).WithMessageExpiryInterval(expirySeconds);
        if (correlation is not null)
        {
            builder.WithCorrelationData(correlation);
        }

        if (path is not null)
        {
            builder.WithUserProperty(MqttFrontDoor.PathProperty, Encoding.UTF8.GetBytes(path));
        }

        return builder.Build();
    }

    private static string? UserProperty(MqttApplicationMessage message, string name) =>
        message.UserProperties?.FirstOrDefault(p => p.Name == name)?.ReadValueAsString();
}
