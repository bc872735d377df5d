using System.Diagnostics;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Engine;

namespace EdgeLlm.Benchmarks;

/// <summary>
/// What the prompt cache (Conversations:CacheSlots, docs/design.md §3a) is worth: the time to first token of
/// each turn of a five-turn conversation on qwen2.5-0.5b (its real vocabulary, int4), with the cache and
/// without, both models loaded in this process and run alternately, round after round; medians over the
/// rounds. Each round's conversation opens differently, so that no round reuses another's turns.
/// </summary>
internal static class ConversationBenchmark
{
    private const int Turns = 5;
    private const int AnswerTokens = 32;

    public static int Run(BenchmarkArguments arguments)
    {
        int rounds = arguments.Int("--rounds", 5);
        string folder = SyntheticModels.Folder(SyntheticModels.Root(arguments), "qwen2.5-0.5b", realVocabulary: true, Quantization.Int4);

        Console.WriteLine($"EdgeLlm conversation benchmark: {Environment.ProcessorCount} cores, qwen2.5-0.5b int4, {Turns} turns of {AnswerTokens} answer tokens, {rounds} rounds");
        using var cached = LocalModel.Load(folder, cacheSlots: 2);
        using var uncached = LocalModel.Load(folder, cacheSlots: 0);
        var withCache = new List<Turn>[Turns];
        var without = new List<Turn>[Turns];
        for (int turn = 0; turn < Turns; turn++)
        {
            withCache[turn] = [];
            without[turn] = [];
        }

        for (int round = 1; round <= rounds; round++)
        {
            Console.WriteLine($"round {round}/{rounds}");
            // Which goes first alternates, so that neither always runs on a warmer machine.
            var order = round % 2 == 1 ? new[] { (cached, withCache), (uncached, without) } : [(uncached, without), (cached, withCache)];
            foreach (var (model, figures) in order)
            {
                var turns = Converse(model, round);
                for (int turn = 0; turn < Turns; turn++)
                {
                    figures[turn].Add(turns[turn]);
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine("| turn | prompt tokens | cached | TTFT with cache | TTFT without | without / with |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
        for (int turn = 0; turn < Turns; turn++)
        {
            double on = Statistics.Median([.. withCache[turn].Select(t => t.TtftMs)]);
            double off = Statistics.Median([.. without[turn].Select(t => t.TtftMs)]);
            Console.WriteLine($"| {turn + 1} | {withCache[turn][0].PromptTokens} | {Statistics.Median([.. withCache[turn].Select(t => (double)t.CachedTokens)]):F0} | {on:F0} ms | {off:F0} ms | {off / on:F2} |");
        }

        return 0;
    }

    // One conversation: each turn's prompt is the chat so far and a new question of about 200 tokens.
    private static Turn[] Converse(LocalModel model, int round)
    {
        var turns = new Turn[Turns];
        string chat = "";
        for (int turn = 0; turn < Turns; turn++)
        {
            chat += $"{(turn == 0 ? $"Round {round}." : "")}\nQuestion {turn + 1}: {string.Concat(Enumerable.Repeat("what does alarm E42 on line 3 mean, and what should I do? ", 3))}\n";
            var prompt = model.Encode(chat);
            var clock = Stopwatch.StartNew();
            double firstToken = double.NaN;
            var result = model.Generate(prompt, new GenerationSettings { MaxNewTokens = AnswerTokens }, (_, _) =>
            {
                if (double.IsNaN(firstToken))
                {
                    firstToken = clock.Elapsed.TotalMilliseconds;
                }
            });
            turns[turn] = new Turn(prompt.Count, result.CachedPromptTokens, firstToken);
            chat += result.Text;
        }

        return turns;
    }

    private sealed record Turn(int PromptTokens, int CachedTokens, double TtftMs);
}
