using System.CommandLine;
using System.CommandLine.Invocation;
using System.Reflection;
using EdgeLlm.Core.Processing;
using EdgeLlm.Onnx;
using EdgeLlm.Worker.Commands;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace EdgeLlm.Worker;

/// <summary>The `edgellm` command line: exit code 0 on success, 2 on a usage error, 1 on a failure, 130 when interrupted.</summary>
internal static class EdgeLlmCli
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int UsageError = 2;
    public const int Interrupted = 130;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var root = new RootCommand("EdgeLlm: language models on small Linux boards, local when they fit and escalated when they do not.")
        {
            ServeCommand.Create(),
            AskCommand.Create(),
            StatusCommand.Create(),
            RecommendCommand.Create(),
            GenerateCommand.Create(),
            ModelCommand.Create(),
            DashboardCommand.Create(),
            PasswdCommand.Create(),
        };
        root.SetAction(ServeCommand.RunAsync);

        // The default prints the entry assembly's version, which is a test host's under test.
        root.Options.OfType<VersionOption>().Single().Action = new PrintVersion();

        var parsed = root.Parse(args);
        if (parsed.Action is ParseErrorAction)
        {
            error.WriteLine($"edgellm: {OneLine(parsed.Errors[0].Message)} (see 'edgellm --help')");
            return UsageError;
        }

        // Signals are the caller's to turn into cancellation (see Program.cs), so that interruptions are reported here.
        var invocation = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        try
        {
            return await parsed.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            error.WriteLine($"edgellm: {OneLine(e.Message)} (see 'edgellm --help')");
            return UsageError;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("edgellm: interrupted");
            return Interrupted;
        }
        catch (Exception e) when (e is ModelFileException or PromptTooLongException or ModelUnavailableException or ModelCommandException or IOException or UnauthorizedAccessException or ArgumentException or OnnxRuntimeGenAIException or OnnxRuntimeException)
        {
            error.WriteLine($"edgellm: {OneLine(e.Message)}");
            return Failure;
        }
    }

    /// <summary>The product version, e.g. "0.1.0+abc1234" (the commit it was built from).</summary>
    public static string Version { get; } =
        typeof(EdgeLlmCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    private static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private sealed class PrintVersion : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(Version);
            return Success;
        }
    }
}
