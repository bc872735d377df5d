using System.Buffers;
using System.Text.Json;
using EdgeLlm.Core;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Routing;
using EdgeLlm.Mqtt.Connection;
using MQTTnet;
using MQTTnet.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Mqtt.Incoming;

/// <summary>
/// Feeds the <see cref="UpstreamDirectory"/> from the retained status advertisements and will messages on
/// {prefix}/node/+/status (docs/design.md §4): which nodes are online, what they serve, how deep their queues
/// are. Only a node with an upstream listens: the others have no use for the fleet's statuses.
/// </summary>
internal sealed partial class AdvertisementListener(
    IOptions<MqttOptions> options,
    IOptions<UpstreamOptions> upstream,
    MqttConnection connection,
    UpstreamDirectory directory,
    ILogger<AdvertisementListener> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (upstream.Value.Tier is null)
        {
            return;
        }

        // Retained statuses arrive at once on subscribing: the directory is filled before the first request.
        var subscription = new MqttTopicFilterBuilder()
            .WithTopic(options.Value.StatusFilter)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainHandling(MqttRetainHandling.SendAtSubscribe)
            .Build();
        await connection.SubscribeAsync(subscription, OnStatusAsync, cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private Task OnStatusAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var message = e.ApplicationMessage;
        string node = message.Topic.Split('/')[^2];
        if (message.Payload.IsEmpty)
        {
            // A cleared retained status: the node was retired.
            directory.Remove(node);
            return Task.CompletedTask;
        }

        var (advertisement, problem) = Read(node, message.Payload);
        if (advertisement is null)
        {
            Log.BadAdvertisement(logger, message.Topic, problem!);
        }
        else if (directory.Update(advertisement))
        {
            Log.NodeHeard(logger, advertisement.Node, advertisement.Tier, advertisement.Online ? "online" : "offline", string.Join(", ", advertisement.Models.Select(m => m.Id)));
        }

        return Task.CompletedTask;
    }

    /// <summary>The advertisement in <paramref name="node"/>'s status payload; null, with the problem, when it holds none.</summary>
    internal static (UpstreamAdvertisement? Advertisement, string? Problem) Read(string node, ReadOnlySequence<byte> payload)
    {
        try
        {
            using var status = JsonPayload.Parse(payload);
            var advertisement = AdvertisementReader.Read(status.RootElement);
            return advertisement.Node == node ? (advertisement, null) : (null, $"it names node '{advertisement.Node}'");
        }
        catch (Exception exception) when (exception is JsonException or FormatException)
        {
            return (null, exception.Message);
        }
    }
}
