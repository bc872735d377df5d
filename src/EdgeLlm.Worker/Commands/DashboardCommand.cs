using System.CommandLine;
using EdgeLlm.Worker.Hosting;

namespace EdgeLlm.Worker.Commands;

/// <summary>`edgellm dashboard`: the live fleet page alone, until SIGTERM or Ctrl-C.</summary>
internal static class DashboardCommand
{
    public static Command Create()
    {
        var command = new Command("dashboard", "Serve the live fleet page (http://HOST:8080/) from the nodes' status advertisements. Configuration may follow as --Mqtt:Server=broker:1883 --Dashboard:Port=8080.")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var host = NodeHost.BuildDashboard(parse.UnmatchedTokens, NodeConfiguration.Directory);
            return await ServeCommand.RunHostAsync(host, parse, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }
}
