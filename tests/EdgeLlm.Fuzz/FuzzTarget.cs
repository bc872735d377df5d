namespace EdgeLlm.Fuzz;

/// <summary>
/// One parser of outside input under fuzzing. <see cref="Run"/> returns whether the parser accepted the input or
/// refused it with its own clear error; anything else it throws is a finding, and so is an input that makes it
/// allocate beyond <see cref="AllocationBudget"/>: a size read from the input and trusted past the input's length.
/// </summary>
public sealed class FuzzTarget(string name, string parses, Func<byte[], bool> parse)
{
    // Room for a parser's own structures over a small input; a claimed size believed unchecked takes far more.
    private const long BaseAllocationBytes = 8 << 20;
    private const long AllocationBytesPerInputByte = 64;

    public string Name => name;

    /// <summary>What it parses, and where that input comes from, for the fuzz script's report.</summary>
    public string Parses => parses;

    public static long AllocationBudget(int inputLength) => BaseAllocationBytes + AllocationBytesPerInputByte * inputLength;

    /// <returns>True when the parser accepted <paramref name="input"/>, false when it refused it as it should.</returns>
    /// <exception cref="UnboundedAllocationException">The parser allocated more than the input's length allows.</exception>
    public bool Run(byte[] input)
    {
        // Every parser here runs on the calling thread, so the thread's count is the parser's.
        long before = GC.GetAllocatedBytesForCurrentThread();
        bool accepted = parse(input);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        return allocated <= AllocationBudget(input.Length)
            ? accepted
            : throw new UnboundedAllocationException($"{name}: {allocated} bytes allocated for an input of {input.Length} bytes (the budget is {AllocationBudget(input.Length)})");
    }

    /// <summary>For a parser that throws its refusal: true when <paramref name="parse"/> returns, false when it throws <typeparamref name="TRefusal"/>.</summary>
    public static bool Accepted<TRefusal>(Action parse)
        where TRefusal : Exception
    {
        try
        {
            parse();
            return true;
        }
        catch (TRefusal)
        {
            return false;
        }
    }

    public override string ToString() => name;
}

/// <summary>A parser allocated more than its input's length can justify.</summary>
public sealed class UnboundedAllocationException(string message) : Exception(message);
