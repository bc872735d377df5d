using System.CommandLine;
using EdgeLlm.Onnx.Engine;

namespace EdgeLlm.Worker.Commands;

/// <summary>`edgellm generate`: runs a local model folder directly.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "Model folder (ONNX Runtime GenAI layout)", Required = true };
        var prompt = new Option<string>("--prompt") { Description = "Text to continue; encoded with the model's tokenizer after BOS" };
        var promptIds = IdListOption.Create("--prompt-ids", "Token ids to feed as they are (include BOS yourself)");
        var maxNewTokens = new Option<int>("--max-new-tokens") { Description = "Most tokens to generate", DefaultValueFactory = _ => 128 };
        maxNewTokens.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) { r.AddError("--max-new-tokens must be at least 1"); } });
        var temperature = new Option<float>("--temperature") { Description = "0 picks the most likely token (greedy); above 0 samples" };
        temperature.Validators.Add(r => { if (r.GetValueOrDefault<float>() is var t && (t < 0 || !float.IsFinite(t))) { r.AddError("--temperature must be 0 or more"); } });
        var seed = new Option<int?>("--seed") { Description = "Seed for sampling, for repeatable runs" };
        var printIds = new Option<bool>("--ids") { Description = "Print the new token ids, comma separated, instead of text" };
        var maxTime = new Option<int?>("--max-time-ms") { Description = "Stop with what has been generated after this many milliseconds" };
        maxTime.Validators.Add(r => { if (r.GetValueOrDefault<int?>() is < 1) { r.AddError("--max-time-ms must be at least 1"); } });
        var threads = new Option<int?>("--threads") { Description = "Threads for ONNX Runtime (default: every core)" };
        threads.Validators.Add(r => { if (r.GetValueOrDefault<int?>() is < 1) { r.AddError("--threads must be at least 1"); } });

        var command = new Command("generate", "Generate text with a local model folder")
        {
            model, prompt, promptIds, maxNewTokens, temperature, seed, printIds, maxTime, threads,
        };
        command.Validators.Add(r =>
        {
            if ((r.GetResult(prompt) is null) == (r.GetResult(promptIds) is null))
            {
                r.AddError("give exactly one of --prompt and --prompt-ids");
            }
        });

        command.SetAction((parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            using var localModel = LocalModel.Load(parse.GetRequiredValue(model).FullName, parse.GetValue(threads));
            var ids = parse.GetValue(prompt) is string text ? localModel.Encode(text) : parse.GetRequiredValue(promptIds);
            var timeProvider = TimeProvider.System;
            var settings = new GenerationSettings
            {
                MaxNewTokens = parse.GetValue(maxNewTokens),
                Temperature = parse.GetValue(temperature),
                Seed = parse.GetValue(seed),
                Deadline = parse.GetValue(maxTime) is int ms ? timeProvider.GetUtcNow().AddMilliseconds(ms) : null,
                TimeProvider = timeProvider,
            };

            bool idsOnly = parse.GetValue(printIds);
            GenerationResult result;
            try
            {
                result = localModel.Generate(ids, settings, idsOnly ? null : (_, piece) => output.Write(piece), cancellationToken);
            }
            finally
            {
                if (!idsOnly)
                {
                    output.WriteLine();
                }
            }

            if (idsOnly)
            {
                output.WriteLine(string.Join(',', result.TokenIds));
            }

            if (result.FinishReason == FinishReason.Deadline)
            {
                parse.InvocationConfiguration.Error.WriteLine($"edgellm: stopped at the --max-time-ms deadline after {result.TokenIds.Count} tokens");
            }

            return Task.FromResult(EdgeLlmCli.Success);
        });
        return command;
    }
}
