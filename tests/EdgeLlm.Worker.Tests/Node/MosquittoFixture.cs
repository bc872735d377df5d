using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>One Mosquitto broker for a test class (tests use their own topics and node ids on it).</summary>
public sealed class MosquittoFixture : IAsyncLifetime
{
    private MosquittoBroker? _broker;

    public MosquittoBroker Broker => _broker ?? throw new InvalidOperationException(MosquittoBroker.SkipReason);

    public async Task InitializeAsync()
    {
        if (MosquittoBroker.Available)
        {
            _broker = await MosquittoBroker.StartAsync();
        }
    }

    public async Task DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }
    }
}
