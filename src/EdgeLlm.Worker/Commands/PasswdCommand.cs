using System.CommandLine;
using EdgeLlm.Core.Security;

namespace EdgeLlm.Worker.Commands;

/// <summary>`edgellm passwd NAME`: a line for Dashboard:OperatorsFile or Mqtt:Embedded:UsersFile, the password read from standard input.</summary>
internal static class PasswdCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("NAME") { Description = "The operator's name" };
        name.Validators.Add(r =>
        {
            string value = r.GetValueOrDefault<string>() ?? "";
            if (value.Length == 0 || value.Contains(':', StringComparison.Ordinal) || value.Any(char.IsWhiteSpace))
            {
                r.AddError($"NAME must be a word without ':' or spaces, not '{value}'");
            }
        });
        var command = new Command("passwd", "Print \"NAME:hash\" (salted PBKDF2-SHA256) for the password on standard input's first line, to add to Dashboard:OperatorsFile or Mqtt:Embedded:UsersFile") { name };
        command.SetAction(async (parse, cancellationToken) =>
        {
            // The first line only, so that `echo secret | edgellm passwd ana` and a typed password both work.
            string? password = await Console.In.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            if (string.IsNullOrEmpty(password))
            {
                throw new UsageException("no password on standard input");
            }

            await parse.InvocationConfiguration.Output.WriteLineAsync($"{parse.GetRequiredValue(name)}:{PasswordFile.Hash(password)}").ConfigureAwait(false);
            return EdgeLlmCli.Success;
        });
        return command;
    }
}
