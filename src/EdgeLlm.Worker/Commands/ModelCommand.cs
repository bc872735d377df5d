using System.CommandLine;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Checkpoints;
using EdgeLlm.Onnx.Engine;
using EdgeLlm.Onnx.HuggingFace;
using EdgeLlm.Onnx.Inspection;

namespace EdgeLlm.Worker.Commands;

/// <summary>`edgellm model build | info | eval` (writing and examining model folders) and the store's `list | pull | rm | pin | unpin`.</summary>
internal static class ModelCommand
{
    public static Command Create()
    {
        var command = new Command("model", "Build and examine model folders; list, pull, remove and pin the models of the store")
        {
            Build(),
            Info(),
            Eval(),
        };
        foreach (var store in StoreCommand.Create())
        {
            command.Subcommands.Add(store);
        }

        return command;
    }

    private static Command Build()
    {
        var fromLlama2c = new Option<FileInfo>("--from-llama2c") { Description = "llama2.c checkpoint (legacy or version 1)", HelpName = "CKPT" };
        var tokenizer = new Option<FileInfo>("--tokenizer") { Description = "llama2.c tokenizer.bin for the checkpoint", HelpName = "TOK" };
        var fromHf = new Option<DirectoryInfo>("--from-hf")
        {
            Description = $"Hugging Face model folder: config.json ({string.Join(", ", HfModelConfig.Architectures)}), model.safetensors (or its shards' index), tokenizer.json, tokenizer_config.json",
            HelpName = "DIR",
        };
        var synthetic = new Option<string>("--synthetic") { Description = $"Seeded random weights of a real shape: {string.Join(", ", SyntheticWeights.ShapeNames)}", HelpName = "SHAPE" };
        synthetic.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is string name && !SyntheticWeights.ShapeNames.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                r.AddError($"unknown shape '{name}' for --synthetic (known: {string.Join(", ", SyntheticWeights.ShapeNames)})");
            }
        });
        var seed = new Option<ulong>("--seed") { Description = "Seed of --synthetic weights", DefaultValueFactory = _ => 1 };
        var vocabulary = new Option<string>("--vocab")
        {
            Description = "Vocabulary of --synthetic weights: byte (260 tokens) or real (the model's own size, e.g. 151,936 for qwen2.5)",
            HelpName = "byte|real",
            DefaultValueFactory = _ => "byte",
        };
        vocabulary.AcceptOnlyFromAmong("byte", "real");
        var quant = new Option<Quantization>("--quant")
        {
            Description = "Weight format of the projection matrices",
            Required = true,
            HelpName = "fp32|int8|int4",
            CustomParser = r =>
            {
                string name = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                if (!QuantizationNames.TryParse(name, out var quantization))
                {
                    r.AddError($"--quant must be fp32, int8 or int4, not '{name}'");
                }

                return quantization;
            },
        };
        var output = new Option<DirectoryInfo>("--out") { Description = "Model folder to write", Required = true, HelpName = "DIR" };
        var force = new Option<bool>("--force") { Description = "Replace --out if it exists" };

        var command = new Command("build", "Write a model folder in the ONNX Runtime GenAI layout") { fromLlama2c, tokenizer, fromHf, synthetic, seed, vocabulary, quant, output, force };
        command.Validators.Add(r =>
        {
            bool fromCheckpoint = r.GetResult(fromLlama2c) is not null;
            if (new[] { fromCheckpoint, r.GetResult(fromHf) is not null, r.GetResult(synthetic) is not null }.Count(given => given) != 1)
            {
                r.AddError("give exactly one of --from-llama2c, --from-hf and --synthetic");
            }
            else if (fromCheckpoint && r.GetResult(tokenizer) is null)
            {
                r.AddError("--from-llama2c needs --tokenizer");
            }
            else if (!fromCheckpoint && r.GetResult(tokenizer) is not null)
            {
                r.AddError("--tokenizer goes with --from-llama2c; a Hugging Face folder has its own, synthetic models use a byte vocabulary");
            }
            else if (r.GetResult(synthetic) is null && r.GetResult(vocabulary) is { Implicit: false })
            {
                r.AddError("--vocab goes with --synthetic; a checkpoint brings its own vocabulary");
            }
        });

        command.SetAction((parse, cancellationToken) =>
        {
            var quantization = parse.GetValue(quant);
            string destination = parse.GetRequiredValue(output).FullName;
            if (parse.GetValue(synthetic) is string shape)
            {
                var weights = new SyntheticWeights(shape, parse.GetValue(seed), realVocabulary: parse.GetValue(vocabulary) == "real");
                ModelFolderBuilder.Build(weights, Llama2cVocabulary.Bytes(weights.Shape.VocabSize), quantization, destination, parse.GetValue(force), cancellationToken);
            }
            else if (parse.GetValue(fromHf) is DirectoryInfo hf)
            {
                using var checkpoint = HfCheckpoint.Open(hf.FullName);
                ModelFolderBuilder.Build(checkpoint, HfTokenizer.Open(hf.FullName, checkpoint.Config), quantization, destination, parse.GetValue(force), cancellationToken);
            }
            else
            {
                using var checkpoint = Llama2cCheckpoint.Open(parse.GetRequiredValue(fromLlama2c).FullName);
                var vocabulary = Llama2cVocabulary.Read(parse.GetRequiredValue(tokenizer).FullName, checkpoint.Shape.VocabSize);
                ModelFolderBuilder.Build(checkpoint, vocabulary, quantization, destination, parse.GetValue(force), cancellationToken);
            }

            CliJson.Write(parse.InvocationConfiguration.Output, ModelInspector.Inspect(destination));
            return Task.FromResult(EdgeLlmCli.Success);
        });
        return command;
    }

    private static Command Info()
    {
        var folder = new Argument<DirectoryInfo>("DIR") { Description = "Model folder" };
        var command = new Command("info", "Print a model folder's parameters, bytes, quantization, context length and vocabulary size as JSON") { folder };
        command.SetAction(parse =>
        {
            CliJson.Write(parse.InvocationConfiguration.Output, ModelInspector.Inspect(parse.GetRequiredValue(folder).FullName));
            return EdgeLlmCli.Success;
        });
        return command;
    }

    private static Command Eval()
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "Model folder", Required = true, HelpName = "DIR" };
        var ids = IdListOption.Create("--ids", "Token ids to feed, BOS included");
        ids.Required = true;
        var command = new Command("eval", "Feed token ids and print the argmax at each position and the mean negative log-likelihood as JSON") { model, ids };
        command.SetAction(parse =>
        {
            string folder = parse.GetRequiredValue(model).FullName;
            int[] tokens = parse.GetRequiredValue(ids);
            using var evaluator = new ModelEvaluator(folder);
            var evaluation = evaluator.Evaluate(tokens);
            CliJson.Write(parse.InvocationConfiguration.Output, new EvalOutput(
                Path.GetFileName(folder), tokens.Length, evaluation.ArgMax, evaluation.MeanNegativeLogLikelihood, Math.Exp(evaluation.MeanNegativeLogLikelihood)));
            return EdgeLlmCli.Success;
        });
        return command;
    }
}
