using System.Diagnostics;
using System.Text;
using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>`edgellm serve` as its own process, configured through EDGELLM__ environment variables, as systemd runs it.</summary>
internal sealed class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TempDirectory? _store;

    private NodeProcess(Process process, TempDirectory? store)
    {
        _process = process;
        _store = store;
        process.OutputDataReceived += (_, e) => Record(e.Data);
        process.ErrorDataReceived += (_, e) => Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public int ExitCode => _process.ExitCode;

    /// <param name="settings">
    /// Configuration as "Section:Key=value", passed as EDGELLM__Section__Key. Without Models:StorePath the node
    /// gets an empty store of its own; without Models:OnDemand it pulls nothing (the shipped catalog's sources
    /// are on the internet, and tests stay on this machine).
    /// </param>
    /// <param name="command">The command that runs edgellm, "serve" appended (default: the build beside the tests).</param>
    public static NodeProcess Start(IEnumerable<string> settings, IReadOnlyDictionary<string, string>? environment = null, IReadOnlyList<string>? command = null)
    {
        var store = settings.Any(s => s.StartsWith("Models:StorePath=", StringComparison.Ordinal)) ? null : new TempDirectory();
        settings = [.. settings, .. RunningNode.StoreDefaults(settings, store)];
        command ??= [Path.Combine(AppContext.BaseDirectory, "edgellm")];
        var start = new ProcessStartInfo(command[0], [.. command.Skip(1), "serve"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["EDGELLM_CONFIG_DIR"] = "/nonexistent/edgellm-test-config";
        start.Environment["EDGELLM__Logging__LogLevel__Default"] = "Information";
        foreach (string setting in settings)
        {
            int equals = setting.IndexOf('=');
            start.Environment[$"EDGELLM__{setting[..equals].Replace(":", "__", StringComparison.Ordinal)}"] = setting[(equals + 1)..];
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        return new NodeProcess(Process.Start(start) ?? throw new InvalidOperationException("edgellm did not start"), store);
    }

    /// <summary>Waits for the node to log that it listens for requests (30 s unless <paramref name="timeout"/> says otherwise).</summary>
    public Task WaitUntilListeningAsync(TimeSpan? timeout = null) => _listening.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(30));

    public void Terminate() => Signals.Terminate(_process);

    /// <summary>Kills the node outright (SIGKILL), as a crash or a pulled plug would end it.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _store?.Dispose();
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }

        if (line.Contains("Listening for requests", StringComparison.Ordinal))
        {
            _listening.TrySetResult();
        }
    }
}
