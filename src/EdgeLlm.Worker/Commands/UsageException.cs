namespace EdgeLlm.Worker.Commands;

/// <summary>A value given on the command line (or in the configuration) that cannot be used: the command exits with 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
