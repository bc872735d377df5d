using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;

namespace EdgeLlm.Benchmarks;

/// <summary>
/// Sustained read bandwidth from main memory: threads sum disjoint parts of a buffer far larger than the
/// caches, as decode reads every weight once per token.
/// </summary>
internal static class MemoryBandwidth
{
    private const long BufferBytes = 1L << 30;

    /// <summary>Median bytes per second over <paramref name="passes"/> passes.</summary>
    public static double Measure(int threads, int passes)
    {
        var buffer = new ulong[BufferBytes / sizeof(ulong)];
        // Touch every page first so the passes measure reads, not page faults.
        Array.Fill(buffer, 1UL);
        var rates = new List<double>();
        ulong sink = 0;
        for (int pass = 0; pass < passes; pass++)
        {
            var sums = new ulong[threads];
            var clock = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, part =>
            {
                int length = buffer.Length / threads;
                sums[part] = Sum(buffer.AsSpan(part * length, length));
            });
            rates.Add(BufferBytes / clock.Elapsed.TotalSeconds);
            sink += sums.Aggregate(0UL, (a, b) => a + b);
        }

        // The sums are checked so the reads cannot be optimized away.
        if (sink != (ulong)passes * (ulong)buffer.Length)
        {
            throw new InvalidOperationException("bandwidth buffer was not read whole");
        }

        return Statistics.Median(rates);
    }

    private static ulong Sum(ReadOnlySpan<ulong> values)
    {
        var vectors = MemoryMarshal.Cast<ulong, Vector<ulong>>(values);
        Vector<ulong> a = default, b = default, c = default, d = default;
        int i = 0;
        for (; i + 4 <= vectors.Length; i += 4)
        {
            a += vectors[i];
            b += vectors[i + 1];
            c += vectors[i + 2];
            d += vectors[i + 3];
        }

        for (; i < vectors.Length; i++)
        {
            a += vectors[i];
        }

        ulong total = Vector.Sum(a + b + c + d);
        for (int j = vectors.Length * Vector<ulong>.Count; j < values.Length; j++)
        {
            total += values[j];
        }

        return total;
    }
}
