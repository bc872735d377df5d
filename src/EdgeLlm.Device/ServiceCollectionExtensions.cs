using System.Device.I2c;
using EdgeLlm.Core.Hosting;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Resources;
using EdgeLlm.Device.Gpio;
using EdgeLlm.Device.Sampling;
using EdgeLlm.Device.Sensors;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Device;

public static class ServiceCollectionExtensions
{
    /// <summary>The board: the resource snapshot from procfs and sysfs under Device:SysfsRoot, and its sensors.</summary>
    public static IServiceCollection AddEdgeDevice(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DeviceOptions>().Bind(configuration.GetSection(DeviceOptions.Section)).ValidatedBy(DeviceOptionsValidator.Keyed);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ISysFs>(provider => new RootedSysFs(provider.GetRequiredService<IOptions<DeviceOptions>>().Value.SysfsRoot));
        services.TryAddSingleton(provider => CpuTemperatureFor(provider.GetRequiredService<IOptions<DeviceOptions>>().Value, provider.GetRequiredService<ISysFs>()));
        services.TryAddSingleton(provider => PowerMeterFor(provider.GetRequiredService<IOptions<DeviceOptions>>().Value));
        services.TryAddSingleton(provider => new ResourceSampler(
            provider.GetRequiredService<ISysFs>(), provider.GetRequiredService<ICpuTemperature>(), provider.GetRequiredService<IPowerMeter>(), provider.GetRequiredService<TimeProvider>()));
        services.AddNodeService<ResourceMonitor>(NodeStage.Resources);
        services.TryAddSingleton<IResourceSnapshotSource>(provider => provider.GetRequiredService<ResourceMonitor>());
        return services;
    }

    /// <summary>The board's buttons and status lights (Gpio section), started once the node is ready (<see cref="NodeStage.Board"/>).</summary>
    public static IServiceCollection AddEdgeGpio(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<GpioOptions>().Bind(configuration.GetSection(GpioOptions.Section)).ValidatedBy(GpioOptionsValidator.Keyed);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IGpioDriverSource, LibGpiodDriverSource>();
        services.AddNodeService<GpioBoard>(NodeStage.Board);
        services.AddNodeService<ButtonPanel>(NodeStage.Board);
        services.AddNodeService<StatusLights>(NodeStage.Board);
        return services;
    }

    // dotnet/iot's CpuTemperature reads the real /sys; a node reading another root reads the same zone there.
    internal static ICpuTemperature CpuTemperatureFor(DeviceOptions options, ISysFs sysFs) =>
        Path.GetFullPath(options.SysfsRoot) == "/" ? new IotCpuTemperature() : new SysFsCpuTemperature(sysFs);

    private static IPowerMeter PowerMeterFor(DeviceOptions options) =>
        options.Ina219.Bus < 0
            ? new NoPowerMeter()
            : new Ina219PowerMeter(I2cDevice.Create(new I2cConnectionSettings(options.Ina219.Bus, options.Ina219.Address)), options.Ina219.ShuntOhms, options.Ina219.MaxAmps);
}
