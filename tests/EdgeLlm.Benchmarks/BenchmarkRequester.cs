using System.Diagnostics;
using System.Text;
using EdgeLlm.Tests;
using MQTTnet;
using MQTTnet.Protocol;

namespace EdgeLlm.Benchmarks;

/// <summary>A requester that asks one request at a time and times each until its reply arrives.</summary>
internal static class BenchmarkRequester
{
    /// <summary>Connects (MQTT 5) and subscribes to the topics replies will come on.</summary>
    public static async Task<IMqttClient> ConnectAsync(MosquittoBroker broker, params string[] replyTopics)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).WithClientId("bench-requester").Build());
        var subscription = new MqttClientSubscribeOptionsBuilder();
        foreach (string topic in replyTopics)
        {
            subscription.WithTopicFilter(topic, MqttQualityOfServiceLevel.AtLeastOnce);
        }

        await client.SubscribeAsync(subscription.Build());
        return client;
    }

    /// <summary>Publishes, then waits for the reply that carries <paramref name="expect"/>: milliseconds between the two.</summary>
    public static async Task<double> TimeAsync(IMqttClient requester, string topic, byte[] payload, string? responseTopic, string expect)
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
}
