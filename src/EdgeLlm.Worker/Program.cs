using System.Runtime.InteropServices;
using EdgeLlm.Worker;

// Ctrl-C and SIGTERM stop the command between steps (a generation between tokens) rather than kill it.
using var interruption = new CancellationTokenSource();
using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);

return await EdgeLlmCli.RunAsync(args, Console.Out, Console.Error, interruption.Token);

void Interrupt(PosixSignalContext context)
{
    context.Cancel = true;
    interruption.Cancel();
}
