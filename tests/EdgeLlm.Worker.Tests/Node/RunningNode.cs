using EdgeLlm.Tests;
using EdgeLlm.Worker.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>An `edgellm serve` host in this process, configured as the command line would configure it.</summary>
internal sealed class RunningNode : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly TempDirectory? _store;
    private bool _stopped;

    private RunningNode(IHost host, string nodeId, TempDirectory? store)
    {
        _host = host;
        NodeId = nodeId;
        _store = store;
    }

    public string NodeId { get; }

    public T Service<T>() where T : notnull => _host.Services.GetRequiredService<T>();

    /// <summary>A service the node may not have.</summary>
    public T? OptionalService<T>() where T : class => _host.Services.GetService<T>();

    /// <param name="settings">
    /// Configuration as "Section:Key=value". Without Models:StorePath the node gets an empty store of its own;
    /// without Models:OnDemand it pulls nothing (the shipped catalog's sources are on the internet, and tests
    /// stay on this machine).
    /// </param>
    public static Task<RunningNode> StartAsync(params string[] settings) => StartAsync(TimeSpan.FromSeconds(30), settings);

    /// <summary>Starts the node with <paramref name="replace"/> standing in for hardware (e.g. a simulated GPIO chip).</summary>
    public static Task<RunningNode> StartAsync(Action<IServiceCollection> replace, params string[] settings) => StartAsync(TimeSpan.FromSeconds(30), settings, replace);

    /// <summary>Starts the node, or gives up after <paramref name="timeout"/> (OperationCanceledException) and cleans up.</summary>
    public static Task<RunningNode> StartAsync(TimeSpan timeout, params string[] settings) => StartAsync(timeout, settings, replace: null);

    private static async Task<RunningNode> StartAsync(TimeSpan timeout, string[] settings, Action<IServiceCollection>? replace)
    {
        string nodeId = settings.FirstOrDefault(s => s.StartsWith("Node:Id=", StringComparison.Ordinal))?["Node:Id=".Length..] ?? $"test-{Guid.NewGuid():N}"[..16];
        var store = settings.Any(s => s.StartsWith("Models:StorePath=", StringComparison.Ordinal)) ? null : new TempDirectory();
        string[] args =
        [
            $"--Node:Id={nodeId}",
            "--Logging:LogLevel:Default=Warning",
            .. settings.Where(s => !s.StartsWith("Node:Id=", StringComparison.Ordinal)).Select(s => $"--{s}"),
            .. StoreDefaults(settings, store).Select(s => $"--{s}"),
        ];
        var host = NodeHost.Build(args, configDirectory: "/nonexistent/edgellm-test-config", replace);
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await host.StartAsync(limit.Token);
        }
        catch
        {
            try
            {
                await host.StopAsync(CancellationToken.None);
            }
            catch (ArgumentNullException)
            {
                // The host failed before it had built its services, and has nothing to stop: the start's own
                // exception is the one that tells what went wrong.
            }

            await ((IAsyncDisposable)host).DisposeAsync();
            store?.Dispose();
            throw;
        }

        return new RunningNode(host, nodeId, store);
    }

    /// <summary>The store settings a test node gets unless the test gives its own.</summary>
    public static IEnumerable<string> StoreDefaults(IEnumerable<string> settings, TempDirectory? store)
    {
        if (store is not null)
        {
            yield return $"Models:StorePath={store.Path}";
        }

        if (!settings.Any(s => s.StartsWith("Models:OnDemand=", StringComparison.Ordinal)))
        {
            yield return "Models:OnDemand=off";
        }
    }

    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _host.StopAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _host.Dispose();
        _store?.Dispose();
    }
}
