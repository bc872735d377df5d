using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace EdgeLlm.Tests;

/// <summary>
/// A real Mosquitto broker on a free loopback port, with persistence, so that a test can restart it and
/// find sessions and queued messages as a fleet broker would keep them.
/// </summary>
public sealed class MosquittoBroker : IAsyncDisposable
{
    public const string Executable = "/usr/sbin/mosquitto";

    private readonly TempDirectory _directory = new();
    private readonly IReadOnlyList<string> _listenerSettings;
    private Process? _process;

    private MosquittoBroker(int port, IReadOnlyList<string> listenerSettings)
    {
        Port = port;
        _listenerSettings = listenerSettings;
    }

    public static bool Available => File.Exists(Executable) && File.Exists("/usr/bin/mosquitto_rr");

    public static string SkipReason => "Mosquitto is not installed: tests/run.sh installs mosquitto and mosquitto-clients";

    public int Port { get; }

    public string Server => $"127.0.0.1:{Port}";

    /// <summary>The folder of the broker's configuration and data, for files its settings name.</summary>
    public string Folder => _directory.Path;

    /// <param name="listenerSettings">Settings for the listener (default: anonymous access allowed); files they name may go in <see cref="Folder"/>.</param>
    public static async Task<MosquittoBroker> StartAsync(IReadOnlyList<string>? listenerSettings = null, Action<string>? prepare = null)
    {
        var broker = new MosquittoBroker(FreePort.Next(), listenerSettings ?? ["allow_anonymous true"]);
        prepare?.Invoke(broker.Folder);
        await broker.RunAsync();
        return broker;
    }

    /// <summary>Stops the broker as a service manager would (SIGTERM: it saves its state), then starts it on the same port.</summary>
    public async Task RestartAsync(TimeSpan? downtime = null)
    {
        await StopAsync();
        if (downtime is TimeSpan pause)
        {
            await Task.Delay(pause);
        }

        await RunAsync();
    }

    /// <summary>Returns once the broker has logged <paramref name="clientId"/>'s subscription to <paramref name="filter"/>, for clients (the CLI tools) that cannot say so themselves.</summary>
    public Task WaitForSubscriptionAsync(string clientId, string filter) => Eventually.TrueAsync(
        () => File.Exists(LogFile) && ReadLog().Any(line => line.Contains($" {clientId} ", StringComparison.Ordinal) && line.EndsWith($" {filter}", StringComparison.Ordinal)),
        TimeSpan.FromSeconds(10),
        $"{clientId}'s subscription to {filter}");

    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            Signals.Terminate(process);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        _directory.Dispose();
    }

    private string LogFile => _directory.Combine("mosquitto.log");

    // Read while Mosquitto writes it: shared, so that neither waits for the other.
    private string[] ReadLog()
    {
        using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n', StringSplitOptions.TrimEntries);
    }

    private async Task RunAsync()
    {
        string config = _directory.Combine("mosquitto.conf");
        await File.WriteAllTextAsync(config, $"""
            listener {Port} 127.0.0.1
            {string.Join('\n', _listenerSettings)}
            set_tcp_nodelay true
            persistence true
            persistence_location {_directory.Path}/
            max_queued_messages 100000
            max_inflight_messages 100
            log_dest file {LogFile}
            log_type error
            log_type warning
            log_type notice
            log_type information
            log_type subscribe
            user root
            """);
        _process = Process.Start(new ProcessStartInfo(Executable, ["-c", config]) { RedirectStandardError = true, RedirectStandardOutput = true })
            ?? throw new InvalidOperationException("mosquitto did not start");
        await FreePort.WaitUntilListeningAsync(Port, TimeSpan.FromSeconds(10));
    }
}

/// <summary>A fact that needs Mosquitto; skipped with the reason when it is not installed.</summary>
public sealed class MosquittoFactAttribute : FactAttribute
{
    public MosquittoFactAttribute()
    {
        if (!MosquittoBroker.Available)
        {
            Skip = MosquittoBroker.SkipReason;
        }
    }
}

/// <summary>A theory that needs Mosquitto; skipped with the reason when it is not installed.</summary>
public sealed class MosquittoTheoryAttribute : TheoryAttribute
{
    public MosquittoTheoryAttribute()
    {
        if (!MosquittoBroker.Available)
        {
            Skip = MosquittoBroker.SkipReason;
        }
    }
}

public static class FreePort
{
    /// <summary>A loopback port nobody listens on now.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task WaitUntilListeningAsync(int port, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (clock.Elapsed < timeout)
            {
                await Task.Delay(50);
            }
        }
    }
}
