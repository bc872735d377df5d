using System.CommandLine;
using System.Text;
using EdgeLlm.Core.Resources;
using EdgeLlm.Device;
using EdgeLlm.Device.Sampling;
using EdgeLlm.Worker.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeLlm.Worker.Commands;

/// <summary>`edgellm status`: the board's resource snapshot as JSON, in the shape `recommend --snapshot` reads.</summary>
internal static class StatusCommand
{
    // Utilisation is the busy share between two samples.
    private static readonly TimeSpan SampleGap = TimeSpan.FromMilliseconds(250);

    public static Command Create()
    {
        var root = new Option<DirectoryInfo>("--sysfs-root") { Description = "Read proc/ and sys/ under this folder instead of the configured Device:SysfsRoot", HelpName = "DIR" };
        root.Validators.Add(r => { if (r.GetValueOrDefault<DirectoryInfo>() is { Exists: false } folder) { r.AddError($"--sysfs-root: no such folder '{folder.FullName}'"); } });
        var command = new Command("status", "Print the board's resource snapshot (memory, CPU, thermal, power) as JSON") { root };
        command.SetAction(async (parse, cancellationToken) =>
        {
            string[] overrides = parse.GetValue(root) is DirectoryInfo folder ? [$"--{DeviceOptions.Section}:{nameof(DeviceOptions.SysfsRoot)}={folder.FullName}"] : [];
            using var services = new ServiceCollection().AddEdgeDevice(NodeConfiguration.Build(overrides, NodeConfiguration.Directory)).BuildServiceProvider();
            var sampler = services.GetRequiredService<ResourceSampler>();
            sampler.Sample();
            await Task.Delay(SampleGap, cancellationToken).ConfigureAwait(false);
            await parse.InvocationConfiguration.Output.WriteLineAsync(Encoding.UTF8.GetString(ResourceSnapshotJson.Serialize(sampler.Sample()))).ConfigureAwait(false);
            return EdgeLlmCli.Success;
        });
        return command;
    }
}
