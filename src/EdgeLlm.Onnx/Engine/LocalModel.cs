using System.Text;
using System.Text.Json.Nodes;
using EdgeLlm.Core.Processing;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace EdgeLlm.Onnx.Engine;

/// <summary>
/// A model folder in the ONNX Runtime GenAI layout, ours or published, loaded for generation. Not safe for
/// concurrent generations: callers take turns (decode is memory-bandwidth bound, so turns lose nothing).
/// The prompt is read in slices, so that its progress can be told; with cache slots, the KV cache of the last
/// sequences is kept for prompts that start the same way (<see cref="PromptCache"/>).
/// </summary>
public sealed class LocalModel : IDisposable
{
    // Prompt tokens read per step: progress every slice, at little cost (a slice is a batched matmul still).
    private const int PrefillSliceTokens = 128;

    // A kept sequence gets room to grow by a few turns: twice what it needs, and at least this many tokens
    // more (a generator's length is fixed when it is made, and one without room cannot take the next turn).
    private const int CachedHeadroomTokens = 2048;

    private static readonly Lock Loading = new();

    private readonly Model _model;
    private readonly Tokenizer _tokenizer;
    private readonly HashSet<int> _endTokenIds;
    private readonly PromptCache? _cache;

    private LocalModel(string folder, GenAiConfig config, TokenizerFacts tokenizerFacts, Model model, Tokenizer tokenizer, int cacheSlots, Func<bool>? mayKeepCache)
    {
        _cache = cacheSlots > 0 ? new PromptCache(cacheSlots, mayKeepCache) : null;
        Folder = folder;
        Id = IdOf(folder);
        Config = config;
        TokenizerFacts = tokenizerFacts;
        _model = model;
        _tokenizer = tokenizer;
        _endTokenIds = [.. config.EosTokenIds];
    }

    public string Folder { get; }

    /// <summary>The id a model folder is known by: its name.</summary>
    public static string IdOf(string folder) => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)));

    /// <summary>The folder's name, which names the model in answers and logs.</summary>
    public string Id { get; }

    public GenAiConfig Config { get; }

    public TokenizerFacts TokenizerFacts { get; }

    /// <param name="intraOpThreads">Threads for one generation; null lets ONNX Runtime use every core.</param>
    /// <param name="cacheSlots">Sequences whose KV cache is kept for the next prompts (Conversations:CacheSlots); 0 keeps none.</param>
    /// <param name="mayKeepCache">Asked after each generation whether the board can spare the memory of the kept sequences; null: always.</param>
    public static LocalModel Load(string folder, int? intraOpThreads = null, int cacheSlots = 0, Func<bool>? mayKeepCache = null)
    {
        var config = GenAiConfig.Read(folder);
        var tokenizerFacts = TokenizerFacts.Read(folder);
        Config? genAiConfig = null;
        Model? model = null;
        // Loads take turns: GenAI 0.18 took the process down (once in about 25 runs of the tests) while a load
        // whose tokenizer it rejected overlapped another load. A load is seconds of I/O and prepacking, rare
        // next to generations, so the turn costs nothing a node would notice.
        using var turn = Loading.EnterScope();
        try
        {
            genAiConfig = new Config(folder);
            if (intraOpThreads is int threads)
            {
                var overlay = new JsonObject { ["model"] = new JsonObject { ["decoder"] = new JsonObject { ["session_options"] = new JsonObject { ["intra_op_num_threads"] = threads } } } };
                genAiConfig.Overlay(overlay.ToJsonString());
            }

            model = new Model(genAiConfig);
            return new LocalModel(folder, config, tokenizerFacts, model, new GuardedTokenizer(model), cacheSlots, mayKeepCache);
        }
        catch (OnnxRuntimeGenAIException e)
        {
            model?.Dispose();
            throw new ModelFileException(folder, e.Message, e);
        }
        finally
        {
            genAiConfig?.Dispose();
        }
    }

    /// <summary>Encodes a prompt the way the model was trained to see it: BOS first when its tokenizer says so.</summary>
    public IReadOnlyList<int> Encode(string text)
    {
        using var sequences = _tokenizer.Encode(text);
        var encoded = sequences[0];
        var ids = new List<int>(encoded.Length + 1);
        // A chat template may have written BOS into the text already.
        if (TokenizerFacts.AddsBos && Config.BosTokenId is int bos && (encoded.IsEmpty || encoded[0] != bos))
        {
            ids.Add(bos);
        }

        ids.AddRange(encoded.ToArray());
        return ids;
    }

    /// <summary>Formats chat messages with the tokenizer's chat template (see <see cref="TokenizerFacts.HasChatTemplate"/>).</summary>
    public string ApplyChatTemplate(string messagesJson) =>
        _tokenizer.ApplyChatTemplate(template_str: null, messages: messagesJson, tools: null, add_generation_prompt: true);

    /// <summary>
    /// Generates after <paramref name="promptIds"/> until an end token, the token limit, the context length
    /// or the deadline; reports each token with its text as it comes.
    /// </summary>
    /// <exception cref="OperationCanceledException">The token was cancelled; the tokens reported so far stand.</exception>
    /// <exception cref="PromptTooLongException">The prompt fills the model's context.</exception>
    public GenerationResult Generate(IReadOnlyList<int> promptIds, GenerationSettings settings, Action<int, string>? onToken = null, CancellationToken cancellationToken = default)
    {
        ValidatePrompt(promptIds, settings);
        int length = Math.Min(Config.ContextLength, promptIds.Count + settings.MaxNewTokens);
        var sequence = _cache?.Take(promptIds, length, settings)
            ?? NewSequence(settings, _cache is null ? length : Math.Min(Config.ContextLength, length + Math.Max(length, CachedHeadroomTokens)));
        int cached = sequence.SharedPrefix(promptIds);
        bool keep = false;
        try
        {
            var result = Run(sequence.Generator, promptIds, cached, settings, onToken, cancellationToken);
            keep = true;
            return result;
        }
        catch (OperationCanceledException)
        {
            // Stopped between steps: what the cache holds is still sound.
            keep = true;
            throw;
        }
        finally
        {
            if (keep && _cache is not null)
            {
                sequence.Tokens = sequence.Generator.GetSequence(0).ToArray();
                _cache.Keep(sequence);
            }
            else
            {
                sequence.Dispose();
            }
        }
    }

    private CachedSequence NewSequence(GenerationSettings settings, int maxLength)
    {
        var parameters = new GeneratorParams(_model);
        try
        {
            parameters.SetSearchOption("max_length", maxLength);
            if (settings.Temperature > 0)
            {
                // Sample from the whole distribution: top-k 0 and top-p 1 filter nothing.
                parameters.SetSearchOption("do_sample", true);
                parameters.SetSearchOption("temperature", settings.Temperature);
                parameters.SetSearchOption("top_k", 0);
                parameters.SetSearchOption("top_p", 1.0);
                parameters.SetSearchOption("random_seed", settings.Seed ?? -1);
            }
            else
            {
                parameters.SetSearchOption("do_sample", false);
            }

            return new CachedSequence(parameters, new Generator(_model, parameters), maxLength, settings);
        }
        catch
        {
            parameters.Dispose();
            throw;
        }
    }

    private GenerationResult Run(Generator generator, IReadOnlyList<int> promptIds, int cached, GenerationSettings settings, Action<int, string>? onToken, CancellationToken cancellationToken)
    {
        using var stream = _tokenizer.CreateStream();
        var ids = new List<int>();
        var text = new StringBuilder();
        // llama2.c and SentencePiece drop the dummy-prefix space of the first piece after BOS.
        bool dropNextLeadingSpace = TokenizerFacts.DropsLeadingSpace && promptIds[^1] == Config.BosTokenId;
        var finishReason = FinishReason.Length;

        cancellationToken.ThrowIfCancellationRequested();
        if (cached > 0)
        {
            generator.RewindTo((ulong)cached);
        }

        int[] prompt = [.. promptIds];
        for (int read = cached; read < prompt.Length; read += PrefillSliceTokens)
        {
            settings.OnPrefill?.Invoke((double)read / prompt.Length);
            generator.AppendTokens(prompt.AsSpan(read, Math.Min(PrefillSliceTokens, prompt.Length - read)).ToArray());
            cancellationToken.ThrowIfCancellationRequested();
        }

        while (ids.Count < settings.MaxNewTokens && !generator.IsDone())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (settings.Deadline is DateTimeOffset deadline && settings.TimeProvider.GetUtcNow() >= deadline)
            {
                finishReason = FinishReason.Deadline;
                break;
            }

            generator.GenerateNextToken();
            var sequence = generator.GetSequence(0);
            // GenAI ends a sequence at an end token without appending it.
            if (sequence.Length == promptIds.Count + ids.Count || _endTokenIds.Contains(sequence[^1]))
            {
                finishReason = FinishReason.Stop;
                break;
            }

            int token = sequence[^1];

            string piece = stream.Decode(token);
            if (dropNextLeadingSpace && piece.Length > 0)
            {
                piece = piece.StartsWith(' ') ? piece[1..] : piece;
                dropNextLeadingSpace = false;
            }

            ids.Add(token);
            text.Append(piece);
            onToken?.Invoke(token, piece);
        }

        return new GenerationResult(promptIds.Count, ids, text.ToString(), finishReason, cached);
    }

    public void Dispose()
    {
        _cache?.Dispose();
        _tokenizer.Dispose();
        _model.Dispose();
    }

    private void ValidatePrompt(IReadOnlyList<int> promptIds, GenerationSettings settings)
    {
        if (promptIds.Count == 0)
        {
            throw new ArgumentException("the prompt has no tokens", nameof(promptIds));
        }

        if (promptIds.Count >= Config.ContextLength)
        {
            throw new PromptTooLongException($"the prompt's {promptIds.Count} tokens leave no room in the model's context of {Config.ContextLength}");
        }

        foreach (int id in promptIds)
        {
            if (id < 0 || id >= Config.VocabSize)
            {
                throw new ArgumentException($"id {id} is outside the vocabulary (0 to {Config.VocabSize - 1})", nameof(promptIds));
            }
        }

        ArgumentOutOfRangeException.ThrowIfNegative(settings.MaxNewTokens);
        ArgumentOutOfRangeException.ThrowIfNegative(settings.Temperature);
    }
}
