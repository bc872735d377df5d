using System.Buffers;
using System.Text.Json;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Resources;
using EdgeLlm.Mqtt.Outgoing;
using EdgeLlm.Mqtt.Tests.Incoming;
using EdgeLlm.Tests;
using MQTTnet;
using Microsoft.Extensions.Time.Testing;
using static Microsoft.Extensions.Options.Options;

namespace EdgeLlm.Mqtt.Tests.Outgoing;

/// <summary>The status advertisement on the embedded broker, in this process: retained, kept current, and offline once the node closes.</summary>
public sealed class StatusPublisherTests : IAsyncLifetime, IDisposable
{
    private readonly FakeTimeProvider _time = new(TimeProvider.System.GetUtcNow());
    private readonly EmbeddedNode _node;
    private readonly NodeCounters _counters = new();
    private readonly StatusPublisher _publisher;

    public StatusPublisherTests()
    {
        _node = EmbeddedNode.Create(mqtt => mqtt.StatusIntervalSeconds = 5, _time);
        var models = new FixedModels([CatalogModel.Uncatalogued("stories260k-int8", tier: 0)]);
        var resources = new FixedSnapshot(new ResourceSnapshot { Board = "Raspberry Pi 4 Model B Rev 1.4" });
        _publisher = new StatusPublisher(Create(_node.Mqtt), Create(_node.Node), _node.Connection, new RecordingPipeline(), _counters, models, resources, _time);
    }

    private string StatusTopic => _node.Mqtt.StatusTopic(_node.Node.Id);

    public async Task InitializeAsync()
    {
        await _node.StartBrokerAsync();
        await _publisher.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _publisher.StopAsync(CancellationToken.None);
        await _node.DisposeAsync();
    }

    public void Dispose() => _publisher.Dispose();

    [Fact]
    public async Task TheStatus_IsRetained_ForWhoeverSubscribesLater()
    {
        await using var early = await SubscribeAsync();
        await early.NextAsync();

        await using var late = await SubscribeAsync();
        var status = await late.NextAsync();

        Assert.True(status.Retain);
        var json = JsonDocument.Parse(status.Payload).RootElement;
        Assert.Equal(("pi-07", true, 0), (json.GetProperty("node").GetString(), json.GetProperty("online").GetBoolean(), json.GetProperty("tier").GetInt32()));
        Assert.Equal(["stories260k-int8"], json.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task EveryInterval_TheStatusIsPublishedAgain_WithTheCountsOfNow()
    {
        await using var watcher = await SubscribeAsync();
        await watcher.NextAsync();
        _counters.Count(new Failure("r-1", ErrorCode.Busy, "busy"), DateTimeOffset.UnixEpoch, duration: null);

        var later = watcher.NextAsync(m => Errors(m, "busy") == 1);
        // The loop's timer may be made after any one advance: advance until the next status shows the count.
        await Eventually.TrueAsync(() =>
        {
            _time.Advance(TimeSpan.FromSeconds(5));
            return later.IsCompleted;
        });

        Assert.Equal(1, Errors(await later, "busy"));
    }

    [Fact]
    public async Task WhenTheNodeCloses_ItsStatusSaysOffline_OnABrokerThatIgnoresAWillAskedFor()
    {
        await using var watcher = await SubscribeAsync();
        await watcher.NextAsync();

        await _node.Connection.CloseAsync(CancellationToken.None);
        var offline = await watcher.NextAsync(m => !JsonDocument.Parse(m.Payload).RootElement.GetProperty("online").GetBoolean());

        await using var late = await SubscribeAsync();
        var retained = await late.NextAsync();

        Assert.Equal("pi-07", JsonDocument.Parse(offline.Payload).RootElement.GetProperty("node").GetString());
        Assert.Equal(offline.Payload.ToArray(), retained.Payload.ToArray());
    }

    private async Task<RecordingClient> SubscribeAsync()
    {
        var client = await _node.ConnectClientAsync();
        await client.SubscribeAsync(StatusTopic);
        return client;
    }

    private static long Errors(MqttApplicationMessage status, string code) =>
        JsonDocument.Parse(status.Payload).RootElement.GetProperty("counters").GetProperty("errors").TryGetProperty(code, out var count) ? count.GetInt64() : 0;

    private sealed class FixedModels(IReadOnlyList<CatalogModel> models) : IModelProvider
    {
        public IReadOnlyList<CatalogModel> AvailableModels => models;

        public IReadOnlyList<string> LoadedModelIds => [];

        public ValueTask<ModelLease?> GetAsync(string modelId, CancellationToken cancellationToken) => ValueTask.FromResult<ModelLease?>(null);
    }

    private sealed class FixedSnapshot(ResourceSnapshot snapshot) : IResourceSnapshotSource
    {
        public ResourceSnapshot Latest => snapshot;
    }
}
