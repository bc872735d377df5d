using EdgeLlm.Core.Hosting;
using EdgeLlm.Core.Options;
using EdgeLlm.Mqtt;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeLlm.Worker.Dashboard;

/// <summary>The live fleet page's registration, on a node with Dashboard:Port or in `edgellm dashboard`.</summary>
internal static class FleetPage
{
    /// <summary>Whether a node's configuration asks for the page.</summary>
    public static bool IsConfigured(IConfiguration configuration) =>
        configuration.GetValue($"{DashboardOptions.Section}:{nameof(DashboardOptions.Port)}", 0) != 0;

    /// <summary>The page over a connection already registered (the node's, or a watcher's), started after it.</summary>
    public static IServiceCollection AddFleetPage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DashboardOptions>().Bind(configuration.GetSection(DashboardOptions.Section)).ValidatedBy(DashboardOptionsValidator.Keyed);
        services.AddFleetWatch();
        services.AddNodeService<FleetPageServer>(NodeStage.Supervision);
        return services;
    }
}
