using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Onnx.Hosting;

/// <summary>
/// Every 30 s: unloads the models idle past Models:IdleUnloadMinutes (but pinned ones), and re-reads the
/// store for what `edgellm model` commands changed.
/// </summary>
internal sealed class ModelHousekeeping(IOptions<LocalModelsOptions> options, ResidentModels residents, PullableModels store, ModelManager manager, TimeProvider time) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (options.Value.IdleUnloadMinutes > 0)
                {
                    residents.UnloadIdle(TimeSpan.FromMinutes(options.Value.IdleUnloadMinutes), manager.IsPinned);
                }

                store.Rescan();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
