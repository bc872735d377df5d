using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;

namespace EdgeLlm.Worker.Hosting;

/// <summary>
/// Sends WATCHDOG=1 every WATCHDOG_USEC/2 when systemd asks for it (WatchdogSec=), which
/// Microsoft.Extensions.Hosting.Systemd does not do. A node whose thread pool stops turning stops pinging,
/// and systemd restarts it. The pings begin an interval after READY=1: until then systemd waits on the start instead.
/// </summary>
internal sealed class SystemdWatchdog(ISystemdNotifier notifier, IHostApplicationLifetime lifetime, TimeProvider time) : BackgroundService
{
    private static readonly ServiceState Ping = new("WATCHDOG=1");

    /// <summary>The ping interval systemd asked for, or null when it asked for none (or asked another process).</summary>
    public static TimeSpan? Interval(Func<string, string?> environment, int processId)
    {
        if (!long.TryParse(environment("WATCHDOG_USEC"), NumberStyles.None, CultureInfo.InvariantCulture, out long microseconds) || microseconds <= 0)
        {
            return null;
        }

        if (environment("WATCHDOG_PID") is string pid && pid != processId.ToString(CultureInfo.InvariantCulture))
        {
            return null;
        }

        return TimeSpan.FromMicroseconds(microseconds / 2);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (Interval(Environment.GetEnvironmentVariable, Environment.ProcessId) is not TimeSpan interval)
        {
            return;
        }

        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onStarted = lifetime.ApplicationStarted.Register(started.SetResult);
        try
        {
            // Started, then one interval: READY=1 (sent on the same signal) has gone first.
            await started.Task.WaitAsync(stoppingToken).ConfigureAwait(false);
            using var timer = new PeriodicTimer(interval, time);
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                notifier.Notify(Ping);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
