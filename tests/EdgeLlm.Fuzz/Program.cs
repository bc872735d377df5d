using EdgeLlm.Fuzz;
using SharpFuzz;

// edgellm-fuzz list                  the targets and what each parses
// edgellm-fuzz TARGET                under afl-fuzz (fuzz.sh): SharpFuzz feeds it afl-fuzz's inputs
// edgellm-fuzz TARGET FILE...        replays inputs: accepted, refused, or the finding with its stack; exit 1 on a finding
using var targets = new FuzzTargets();
if (args is ["list"])
{
    foreach (var each in targets.All)
    {
        Console.WriteLine($"{each.Name,-22} {each.Parses}");
    }

    return 0;
}

if (args.Length == 0 || targets.Find(args[0]) is not { } target)
{
    Console.Error.WriteLine($"usage: edgellm-fuzz list | TARGET [FILE...]; the targets: {string.Join(", ", targets.All)}");
    return 2;
}

if (args.Length == 1)
{
    // Out of process: a parser that overflows the stack or hangs costs a restart of the child, not the campaign.
    Fuzzer.OutOfProcess.Run(stream =>
    {
        using var input = new MemoryStream();
        stream.CopyTo(input);
        target.Run(input.ToArray());
    });
    return 0;
}

int findings = 0;
foreach (string file in args[1..])
{
    try
    {
        Console.WriteLine($"{file}: {(target.Run(File.ReadAllBytes(file)) ? "accepted" : "refused")}");
    }
#pragma warning disable CA1031 // Whatever a parser throws past its own refusal is the finding to print.
    catch (Exception finding)
#pragma warning restore CA1031
    {
        // One line to tell faults apart by (the exception and EdgeLlm's method that let it out), then the whole of it.
        Console.WriteLine($"{file}: FINDING {finding.GetType().Name} in {Thrower(finding)}: {finding.Message.ReplaceLineEndings(" ")}");
        Console.WriteLine(finding);
        findings++;
    }
}

return findings == 0 ? 0 : 1;

// The innermost method of EdgeLlm's own code on the exception's way out, by the names in the source (a lambda
// by its enclosing method): where the fault is to be mended.
static string Thrower(Exception finding)
{
    var thrower = new System.Diagnostics.StackTrace(finding).GetFrames().Select(frame => frame.GetMethod()).FirstOrDefault(method =>
        method?.DeclaringType?.Namespace is string space && space.StartsWith("EdgeLlm.", StringComparison.Ordinal) && !space.StartsWith("EdgeLlm.Fuzz", StringComparison.Ordinal));
    if (thrower?.DeclaringType is not { } type)
    {
        return "(no EdgeLlm frame)";
    }

    while (type.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute), false) && type.DeclaringType is { } outer)
    {
        type = outer;
    }

    string name = thrower.Name.StartsWith('<') ? thrower.Name[1..thrower.Name.IndexOf('>', StringComparison.Ordinal)] : thrower.Name;
    return $"{type.Name}.{name}";
}
