using System.Text.Json.Nodes;
using EdgeLlm.Onnx.Checkpoints;

namespace EdgeLlm.Tests.HuggingFace;

/// <summary>Hugging Face model folders written as the hub serves them: config.json, safetensors, the tokenizer's files.</summary>
public static class HfFolders
{
    /// <summary>
    /// stories260K in the Hugging Face layout, as llama2.c's export.py writes it: wq and wk rows permuted from
    /// llama2.c's interleaved rotary pairs to the rotate-half halves, the classifier tied to the embedding,
    /// the tensors in <paramref name="dtype"/>, over <paramref name="shards"/> files.
    /// </summary>
    public static string WriteStories(string folder, string dtype = "F32", int shards = 1)
    {
        using var checkpoint = Llama2cCheckpoint.Open(StoriesFiles.Checkpoint);
        var shape = checkpoint.Shape;
        var tensors = new List<NamedTensor>
        {
            new("model.embed_tokens.weight", [shape.VocabSize, shape.Dim], checkpoint.Read(LlamaTensor.TokenEmbedding, 0), dtype),
            new("model.norm.weight", [shape.Dim], checkpoint.Read(LlamaTensor.FinalNorm, 0), dtype),
        };
        for (int layer = 0; layer < shape.Layers; layer++)
        {
            string prefix = $"model.layers.{layer}.";
            tensors.Add(new(prefix + "input_layernorm.weight", [shape.Dim], checkpoint.Read(LlamaTensor.AttentionNorm, layer), dtype));
            tensors.Add(new(prefix + "post_attention_layernorm.weight", [shape.Dim], checkpoint.Read(LlamaTensor.FeedForwardNorm, layer), dtype));
            tensors.Add(new(prefix + "self_attn.q_proj.weight", [shape.Dim, shape.Dim], ToRotateHalf(checkpoint.Read(LlamaTensor.QueryProjection, layer), shape.Heads, shape.HeadSize, shape.Dim), dtype));
            tensors.Add(new(prefix + "self_attn.k_proj.weight", [shape.KvDim, shape.Dim], ToRotateHalf(checkpoint.Read(LlamaTensor.KeyProjection, layer), shape.KvHeads, shape.HeadSize, shape.Dim), dtype));
            tensors.Add(new(prefix + "self_attn.v_proj.weight", [shape.KvDim, shape.Dim], checkpoint.Read(LlamaTensor.ValueProjection, layer), dtype));
            tensors.Add(new(prefix + "self_attn.o_proj.weight", [shape.Dim, shape.Dim], checkpoint.Read(LlamaTensor.OutputProjection, layer), dtype));
            tensors.Add(new(prefix + "mlp.gate_proj.weight", [shape.HiddenDim, shape.Dim], checkpoint.Read(LlamaTensor.GateProjection, layer), dtype));
            tensors.Add(new(prefix + "mlp.up_proj.weight", [shape.HiddenDim, shape.Dim], checkpoint.Read(LlamaTensor.UpProjection, layer), dtype));
            tensors.Add(new(prefix + "mlp.down_proj.weight", [shape.Dim, shape.HiddenDim], checkpoint.Read(LlamaTensor.DownProjection, layer), dtype));
        }

        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("LlamaForCausalLM"),
            ["model_type"] = "llama",
            ["hidden_size"] = shape.Dim,
            ["intermediate_size"] = shape.HiddenDim,
            ["num_hidden_layers"] = shape.Layers,
            ["num_attention_heads"] = shape.Heads,
            ["num_key_value_heads"] = shape.KvHeads,
            ["vocab_size"] = shape.VocabSize,
            ["max_position_embeddings"] = shape.ContextLength,
            ["rms_norm_eps"] = 1e-5,
            ["rope_theta"] = 10000.0,
            ["tie_word_embeddings"] = true,
            ["hidden_act"] = "silu",
            ["bos_token_id"] = Llama2cVocabulary.BosId,
            ["eos_token_id"] = Llama2cVocabulary.EosId,
            ["torch_dtype"] = "float32",
        };
        Write(folder, config, tensors, shards);
        Llama2cVocabulary.Read(StoriesFiles.Tokenizer, shape.VocabSize).WriteFiles(folder, shape.ContextLength);
        // As llama2.c's stories end: at BOS as well as EOS.
        File.WriteAllText(Path.Combine(folder, "generation_config.json"), """{ "bos_token_id": 1, "eos_token_id": [2, 1] }""");
        return folder;
    }

    /// <summary>config.json and the tensors, in one model.safetensors or in shards with their index.</summary>
    public static void Write(string folder, JsonObject config, IReadOnlyList<NamedTensor> tensors, int shards = 1)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        if (shards == 1)
        {
            SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"), tensors);
            return;
        }

        var weightMap = new JsonObject();
        for (int shard = 0; shard < shards; shard++)
        {
            string file = $"model-{shard + 1:D5}-of-{shards:D5}.safetensors";
            var part = tensors.Where((_, index) => index % shards == shard).ToList();
            SafetensorsWriter.Write(Path.Combine(folder, file), part);
            part.ForEach(t => weightMap[t.Name] = file);
        }

        File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"), new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = weightMap }.ToJsonString());
    }

    // llama2.c pairs a head's rows (2i, 2i+1); the rotate-half layout puts row 2i at i and row 2i+1 at i + headSize/2.
    private static float[] ToRotateHalf(float[] matrix, int heads, int headSize, int columns)
    {
        var permuted = new float[matrix.Length];
        int half = headSize / 2;
        for (int head = 0; head < heads; head++)
        {
            for (int pair = 0; pair < half; pair++)
            {
                for (int member = 0; member < 2; member++)
                {
                    int from = head * headSize + 2 * pair + member;
                    int to = head * headSize + member * half + pair;
                    Array.Copy(matrix, (long)from * columns, permuted, (long)to * columns, columns);
                }
            }
        }

        return permuted;
    }
}
