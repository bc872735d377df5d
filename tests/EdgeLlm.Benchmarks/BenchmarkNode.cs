using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Checkpoints;
using EdgeLlm.Tests;

namespace EdgeLlm.Benchmarks;

/// <summary>`edgellm serve` as its own process on a benchmark broker, timed from start to READY=1 (sd_notify).</summary>
internal sealed class BenchmarkNode(Process process, Socket socket, double readyMs) : IAsyncDisposable
{
    public double ReadyMs => readyMs;

    /// <summary>The edgellm built beside the benchmarks (framework-dependent, JIT).</summary>
    public static string BuiltExecutable => Path.Combine(AppContext.BaseDirectory, "edgellm");

    /// <param name="settings">Configuration as "Section:Key=value", passed as EDGELLM__Section__Key.</param>
    public static Task<BenchmarkNode> StartAsync(MosquittoBroker broker, TempDirectory temp, params string[] settings) =>
        StartAsync(BuiltExecutable, broker, temp, settings);

    /// <param name="executable">The edgellm to start: <see cref="BuiltExecutable"/> or a published one.</param>
    /// <param name="settings">Configuration as "Section:Key=value", passed as EDGELLM__Section__Key.</param>
    public static async Task<BenchmarkNode> StartAsync(string executable, MosquittoBroker broker, TempDirectory temp, params string[] settings)
    {
        string socketPath = temp.Combine($"notify-{Guid.NewGuid():N}.sock");
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        var start = new ProcessStartInfo(executable, ["serve"]);
        start.Environment["NOTIFY_SOCKET"] = socketPath;
        start.Environment["EDGELLM_CONFIG_DIR"] = "/nonexistent/edgellm-benchmark-config";
        start.Environment["EDGELLM__Mqtt__Server"] = broker.Server;
        start.Environment["EDGELLM__Logging__LogLevel__Default"] = "Warning";
        start.Environment["EDGELLM__Models__StorePath"] = temp.Combine($"store-{Guid.NewGuid():N}");
        foreach (string setting in settings)
        {
            int equals = setting.IndexOf('=', StringComparison.Ordinal);
            start.Environment[$"EDGELLM__{setting[..equals].Replace(":", "__", StringComparison.Ordinal)}"] = setting[(equals + 1)..];
        }

        var clock = Stopwatch.StartNew();
        var process = Process.Start(start) ?? throw new InvalidOperationException("edgellm did not start");
        var buffer = new byte[64];
        while (true)
        {
            int length = await socket.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(30));
            if (Encoding.ASCII.GetString(buffer, 0, length).Contains("READY=1", StringComparison.Ordinal))
            {
                return new BenchmarkNode(process, socket, clock.Elapsed.TotalMilliseconds);
            }
        }
    }

    /// <summary>stories260K (int8 unless told) from the repository's models/stories260k, built into <paramref name="temp"/>.</summary>
    public static string BuildStories(TempDirectory temp, Quantization quantization = Quantization.Int8)
    {
        string folder = temp.Combine($"stories260k-{quantization.ToString().ToLowerInvariant()}");
        using var checkpoint = Llama2cCheckpoint.Open(StoriesFiles.Checkpoint);
        ModelFolderBuilder.Build(checkpoint, Llama2cVocabulary.Read(StoriesFiles.Tokenizer, checkpoint.Shape.VocabSize), quantization, folder, force: false);
        return folder;
    }

    public double RssMb()
    {
        string line = File.ReadLines($"/proc/{process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }

    /// <summary>CPU time the process has used (user and system), from /proc/PID/stat in clock ticks of 1/100 s (Linux's USER_HZ).</summary>
    public double CpuSeconds() => CpuSecondsOf(process.Id);

    /// <summary>CPU time process <paramref name="pid"/> has used, as <see cref="CpuSeconds"/>.</summary>
    public static double CpuSecondsOf(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        // Fields after the command name (which may hold spaces) in parentheses: utime and stime are the 12th and 13th.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    /// <summary>Kills the node outright (SIGKILL), as a crash or a pulled plug would end it.</summary>
    public async Task KillAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Open file descriptors and threads now, from /proc.</summary>
    public (int Descriptors, int Threads) Handles() =>
        (Directory.GetFiles($"/proc/{process.Id}/fd").Length,
         int.Parse(File.ReadLines($"/proc/{process.Id}/status").First(l => l.StartsWith("Threads:", StringComparison.Ordinal))["Threads:".Length..].Trim(), CultureInfo.InvariantCulture));

    public async Task StopAsync()
    {
        if (!process.HasExited)
        {
            Signals.Terminate(process);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        process.Dispose();
        socket.Dispose();
    }
}
