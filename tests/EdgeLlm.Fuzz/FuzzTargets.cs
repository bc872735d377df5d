namespace EdgeLlm.Fuzz;

/// <summary>Every fuzz target, by name; their seed corpora are in corpus/{name}, what fuzzing found in regressions/{name}.</summary>
public sealed class FuzzTargets : IDisposable
{
    private readonly ScratchFiles _scratch = new();

    public FuzzTargets() => All = [.. MessageTargets.All(_scratch), .. ModelFileTargets.All(_scratch)];

    public IReadOnlyList<FuzzTarget> All { get; }

    public FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);

    public void Dispose() => _scratch.Dispose();
}
