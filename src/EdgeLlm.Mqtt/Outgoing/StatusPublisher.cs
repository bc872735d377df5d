using System.Reflection;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Resources;
using EdgeLlm.Mqtt.Connection;
using MQTTnet;
using MQTTnet.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Mqtt.Outgoing;

/// <summary>
/// Advertises the node on {prefix}/node/{nodeId}/status, retained: at start, after every reconnection (the
/// will may have marked it offline meanwhile) and every Mqtt:StatusIntervalSeconds.
/// </summary>
internal sealed class StatusPublisher : BackgroundService
{
    private static readonly string Version =
        typeof(StatusPublisher).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    private readonly MqttOptions _options;
    private readonly NodeOptions _node;
    private readonly MqttConnection _connection;
    private readonly INodePipeline _pipeline;
    private readonly NodeCounters _counters;
    private readonly IModelProvider _models;
    private readonly IResourceSnapshotSource _resources;
    private readonly IModelAcquisition? _acquisition;
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _startedAt;

    /// <param name="acquisition">The model store, whose pulls under way are advertised; none on an endpoint tier.</param>
    public StatusPublisher(IOptions<MqttOptions> options, IOptions<NodeOptions> node, MqttConnection connection, INodePipeline pipeline, NodeCounters counters, IModelProvider models, IResourceSnapshotSource resources, TimeProvider time, IModelAcquisition? acquisition = null)
    {
        _acquisition = acquisition;
        _resources = resources;
        _options = options.Value;
        _node = node.Value;
        _connection = connection;
        _pipeline = pipeline;
        _counters = counters;
        _models = models;
        _time = time;
        _startedAt = time.GetUtcNow();
        _connection.Connected += () =>
        {
            Publish();
            return Task.CompletedTask;
        };
    }

    /// <summary>The status as advertised now.</summary>
    public NodeStatus Current() => new(
        _node.Id,
        _node.Tier,
        Version,
        // The models it answers with, loading ones included (requests wait for them in the queue), each with
        // the domains it is known for here, so that nodes whose catalog lacks it can still judge it.
        _models.AvailableModels,
        _models.LoadedModelIds,
        _pipeline.Activity.Queued,
        (long)(_time.GetUtcNow() - _startedAt).TotalSeconds,
        _counters.TokensPerSecond(),
        _counters,
        _resources.Latest,
        _acquisition?.Pulls ?? []);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(_options.StatusIntervalSeconds), _time);
        try
        {
            do
            {
                // While the broker is away the next connection announces the node; nothing piles up meanwhile.
                if (_connection.IsConnected)
                {
                    Publish();
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Publish() => _connection.Publish(new MqttApplicationMessageBuilder()
        .WithTopic(_options.StatusTopic(_node.Id))
        .WithPayload(NodeStatusFormatter.Online(Current()))
        .WithRetainFlag(true)
        .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
        .WithContentType("application/json")
        .Build());
}
