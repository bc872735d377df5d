using EdgeLlm.Core.Resources;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Device.Sampling;

/// <summary>
/// Samples the board every Device:SampleSeconds and keeps the latest snapshot, so that deciding never waits
/// on a file read. The first snapshot is taken before the node starts serving.
/// </summary>
internal sealed class ResourceMonitor(ResourceSampler sampler, IOptions<DeviceOptions> options, TimeProvider time) : BackgroundService, IResourceSnapshotSource
{
    private ResourceSnapshot _latest = new();

    public ResourceSnapshot Latest => Volatile.Read(ref _latest);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _latest, sampler.Sample());
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.SampleSeconds), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                Volatile.Write(ref _latest, sampler.Sample());
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
