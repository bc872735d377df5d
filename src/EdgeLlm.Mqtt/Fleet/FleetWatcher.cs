using System.Buffers;
using System.Text.Json;
using EdgeLlm.Core;
using EdgeLlm.Mqtt.Connection;
using MQTTnet;
using MQTTnet.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Mqtt.Fleet;

/// <summary>
/// Keeps <see cref="FleetState"/> from {prefix}/node/+/status: the retained advertisements arrive at once on
/// subscribing, the wills when nodes vanish. What is not an advertisement of the node its topic names is
/// logged and left out: the page shows what the nodes said, never a stranger's message in their name.
/// </summary>
internal sealed class FleetWatcher(IOptions<MqttOptions> options, MqttConnection connection, FleetState fleet, TimeProvider time, ILogger<FleetWatcher> logger) : IHostedService, IDisposable
{
    /// <summary>An advertisement is a couple of kilobytes; anything far past that is not one.</summary>
    public const int MaxStatusBytes = 64 * 1024;

    private readonly CancellationTokenSource _stopping = new();
    private Task _subscribed = Task.CompletedTask;

    /// <summary>
    /// Subscribes in the background: the page is served while the broker is still away (it shows no node
    /// until the broker answers), and the subscription comes with the connection.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _subscribed = SubscribeAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _subscribed.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose() => _stopping.Dispose();

    private async Task SubscribeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await connection.SubscribeAsync(
                new MqttTopicFilterBuilder()
                    .WithTopic(options.Value.StatusFilter)
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                    .WithRetainHandling(MqttRetainHandling.SendAtSubscribe)
                    .Build(),
                OnStatusAsync,
                cancellationToken).ConfigureAwait(false);
        }
        catch (SubscriptionRefusedException e)
        {
            Log.FleetUnwatched(logger, e.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private Task OnStatusAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var message = e.ApplicationMessage;
        string node = message.Topic.Split('/')[^2];
        if (message.Payload.IsEmpty)
        {
            fleet.Remove(node);
            return Task.CompletedTask;
        }

        var (read, problem) = Read(node, message.Payload);
        if (read is not (bool online, byte[] status))
        {
            Log.BadAdvertisement(logger, message.Topic, problem!);
        }
        else
        {
            // A will says only that the node has gone: what it last said of itself, and when, stay to be seen.
            fleet.Update(!online && fleet.Find(node) is { } last
                ? last with { Online = false }
                : new FleetNode(node, online, time.GetUtcNow(), status));
        }

        return Task.CompletedTask;
    }

    /// <summary>Whether <paramref name="node"/> says it is online, and its status on one line; null, with the problem, when the payload is no status of it.</summary>
    internal static ((bool Online, byte[] Status)? Status, string? Problem) Read(string node, ReadOnlySequence<byte> payload)
    {
        if (payload.Length > MaxStatusBytes)
        {
            return (null, $"{payload.Length} bytes, more than {MaxStatusBytes}");
        }

        try
        {
            using var json = JsonPayload.Parse(payload);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("node", out var named) || named.ValueKind != JsonValueKind.String || named.GetString() != node
                || !root.TryGetProperty("online", out var online) || online.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return (null, $"it is no {{\"node\": \"{node}\", \"online\": …}} object");
            }

            // On one line, as an SSE data field must be, whatever whitespace the node used: done once here.
            return ((online.GetBoolean(), JsonPayload.Write(root.WriteTo)), null);
        }
        catch (JsonException exception)
        {
            return (null, exception.Message);
        }
    }
}
