using System.CommandLine;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Device.Gpio;
using EdgeLlm.Worker.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Worker.Commands;

/// <summary>`edgellm serve` (and `edgellm` alone): the node, until SIGTERM or Ctrl-C.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var command = new Command("serve", "Run the node: answer requests over MQTT (the default command). Configuration may follow as --Section:Key=value.")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(parse, cancellationToken));
        return command;
    }

    public static async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        using var host = NodeHost.Build(parse.UnmatchedTokens, NodeConfiguration.Directory);
        return await RunHostAsync(host, parse, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Validates every section of <paramref name="host"/>'s configuration, then runs it: exit 2 on a bad configuration.</summary>
    public static async Task<int> RunHostAsync(IHost host, ParseResult parse, CancellationToken cancellationToken)
    {
        try
        {
            // Every section at once, before anything starts: one message lists all that is wrong.
            host.Services.GetRequiredService<IStartupValidator>().Validate();
            host.Services.GetRequiredService<ModelCatalog>();
        }
        catch (CatalogException e)
        {
            await parse.InvocationConfiguration.Error.WriteLineAsync($"edgellm: catalog: {e.Message}").ConfigureAwait(false);
            return EdgeLlmCli.UsageError;
        }
        catch (Exception e) when (e is OptionsValidationException or AggregateException { InnerExceptions: [OptionsValidationException, ..] })
        {
            // Several sections wrong come as an AggregateException of one OptionsValidationException each.
            var failures = (e is AggregateException all ? all.InnerExceptions : [e]).OfType<OptionsValidationException>().SelectMany(v => v.Failures);
            await parse.InvocationConfiguration.Error.WriteLineAsync($"edgellm: configuration: {string.Join("; ", failures)}").ConfigureAwait(false);
            return EdgeLlmCli.UsageError;
        }

        try
        {
            await host.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (GpioUnavailableException e)
        {
            await parse.InvocationConfiguration.Error.WriteLineAsync($"edgellm: gpio: {e.Message}").ConfigureAwait(false);
            return EdgeLlmCli.UsageError;
        }


        return EdgeLlmCli.Success;
    }
}
