using System.Diagnostics;
using Xunit;

namespace EdgeLlm.Tests;

/// <summary>Waiting for something that happens on another thread (a callback, a background loop, a process).</summary>
public static class Eventually
{
    /// <summary>
    /// Polls <paramref name="condition"/> every 20 ms and fails the test, saying <paramref name="what"/> did not
    /// happen, when it is still false after <paramref name="timeout"/> (10 s by default).
    /// </summary>
    public static async Task TrueAsync(Func<bool> condition, TimeSpan? timeout = null, string what = "the condition")
    {
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < limit, $"{what} did not come true within {limit.TotalSeconds:F0} s");
            await Task.Delay(20);
        }
    }
}
