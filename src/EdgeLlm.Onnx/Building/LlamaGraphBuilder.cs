using EdgeLlm.Onnx.Checkpoints;
using EdgeLlm.Onnx.Engine;
using EdgeLlm.Onnx.Ir;
using static EdgeLlm.Onnx.Building.OnnxGraphWriter;
using DataType = EdgeLlm.Onnx.Ir.TensorProto.Types.DataType;

namespace EdgeLlm.Onnx.Building;

/// <summary>
/// Writes a llama decoder as the ONNX graph ONNX Runtime GenAI drives: inputs input_ids, attention_mask,
/// position_ids and past_key_values.{i}.key/value; outputs logits and present.{i}.key/value. Attention is
/// com.microsoft GroupQueryAttention (causal, grouped heads, a key/value cache that can share its buffer),
/// rotary embeddings com.microsoft RotaryEmbedding, quantized projections com.microsoft MatMulNBits.
/// </summary>
internal static class LlamaGraphBuilder
{
    public const string InputIds = "input_ids";
    public const string AttentionMask = "attention_mask";
    public const string PositionIds = "position_ids";
    public const string Logits = "logits";
    public const string PastKeyFormat = "past_key_values.%d.key";
    public const string PastValueFormat = "past_key_values.%d.value";
    public const string PresentKeyFormat = "present.%d.key";
    public const string PresentValueFormat = "present.%d.value";
    private const string MicrosoftDomain = "com.microsoft";

    /// <summary>Metadata saying "true" when the classifier holds the embedding's values (stored twice when quantized).</summary>
    public const string SharedClassifierKey = "edgellm.shared_classifier";

    /// <summary>The packed classifier of a quantized build.</summary>
    public const string QuantizedClassifier = "lm_head.weight.packed";

    // MatMulNBits accuracy level 4 multiplies with int8 activations, the fast path on arm64 and x64 CPUs.
    private const long MatMulAccuracyLevel = 4;

    public static ModelProto Build(ILlamaWeights weights, Quantization quantization, OnnxGraphWriter graph, CancellationToken cancellationToken)
    {
        var shape = weights.Shape;
        DeclareInputsAndOutputs(shape, graph);

        var embedding = Embedding(graph, weights, quantization);
        string hidden = embedding.Hidden;

        // GroupQueryAttention takes the per-sequence key count minus one and the total length, both int32.
        string maskSum = graph.Node("ReduceSum", [AttentionMask, graph.Int64Constant("one_axis", 1)], "/model/attn_mask/ReduceSum", Attribute("keepdims", 0L));
        string seqLensK = graph.Node("Cast", [graph.Node("Sub", [maskSum, graph.Int64Scalar("one", 1)], "/model/attn_mask/Sub")], "/model/attn_mask/seqlens_k", Attribute("to", (long)DataType.Int32));
        string totalLength = graph.Node("Cast", [graph.Node("Gather", [graph.Node("Shape", [AttentionMask], "/model/attn_mask/Shape"), graph.Int64Scalar("total_length_index", 1)], "/model/attn_mask/Gather", Attribute("axis", 0L))], "/model/attn_mask/total_seq_len", Attribute("to", (long)DataType.Int32));

        var (cosCache, sinCache) = RotaryCaches(shape, graph);

        for (int layer = 0; layer < shape.Layers; layer++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string prefix = $"/model/layers.{layer}";
            string name = $"model.layers.{layer}";

            string attentionInput = Norm(graph, hidden, graph.Initializer($"{name}.input_layernorm.weight", weights.Read(LlamaTensor.AttentionNorm, layer), shape.Dim), shape, $"{prefix}/input_layernorm");
            string[] qkv = Projection(graph, weights, layer, attentionInput, quantization, $"{name}.attn.qkv_proj", $"{prefix}/attn/qkv_proj",
                [LlamaTensor.QueryProjection, LlamaTensor.KeyProjection, LlamaTensor.ValueProjection],
                shape.AttentionBias ? [LlamaTensor.QueryBias, LlamaTensor.KeyBias, LlamaTensor.ValueBias] : null);
            string query = Rotary(graph, qkv[0], shape, cosCache, sinCache, $"{prefix}/attn/q_rotary");
            string key = Rotary(graph, qkv[1], shape, cosCache, sinCache, $"{prefix}/attn/k_rotary");
            string value = qkv[2];

            string attention = $"{prefix}/attn/GroupQueryAttention/output_0";
            graph.NodeWithOutputs(
                "GroupQueryAttention",
                [query, key, value, GenAiConfig.LayerName(PastKeyFormat, layer), GenAiConfig.LayerName(PastValueFormat, layer), seqLensK, totalLength],
                [attention, GenAiConfig.LayerName(PresentKeyFormat, layer), GenAiConfig.LayerName(PresentValueFormat, layer)],
                $"{prefix}/attn/GroupQueryAttention", MicrosoftDomain,
                Attribute("num_heads", (long)shape.Heads), Attribute("kv_num_heads", (long)shape.KvHeads));
            string attentionOutput = Projection(graph, weights, layer, attention, quantization, $"{name}.attn.o_proj", $"{prefix}/attn/o_proj", LlamaTensor.OutputProjection)[0];
            hidden = graph.Node("Add", [hidden, attentionOutput], $"{prefix}/attn/residual");

            string mlpInput = Norm(graph, hidden, graph.Initializer($"{name}.post_attention_layernorm.weight", weights.Read(LlamaTensor.FeedForwardNorm, layer), shape.Dim), shape, $"{prefix}/post_attention_layernorm");
            string[] gateUp = Projection(graph, weights, layer, mlpInput, quantization, $"{name}.mlp.gate_up_proj", $"{prefix}/mlp/gate_up_proj",
                LlamaTensor.GateProjection, LlamaTensor.UpProjection);
            string silu = graph.Node("Mul", [gateUp[0], graph.Node("Sigmoid", [gateUp[0]], $"{prefix}/mlp/act_fn/Sigmoid")], $"{prefix}/mlp/act_fn/Mul");
            string down = Projection(graph, weights, layer, graph.Node("Mul", [silu, gateUp[1]], $"{prefix}/mlp/Mul"), quantization, $"{name}.mlp.down_proj", $"{prefix}/mlp/down_proj", LlamaTensor.DownProjection)[0];
            hidden = graph.Node("Add", [hidden, down], $"{prefix}/mlp/residual");
        }

        // Only the last position's logits are computed: all a generation reads (GenAI takes the last row), and a
        // prompt's every-position logits cost its length times the classifier in time and, with a real
        // vocabulary, more memory than the model (151,936 floats a token: 1.2 GB for a 2,000-token prompt).
        string last = graph.Node("Slice", [hidden, graph.Int64Constant("last_start", -1), graph.Int64Constant("last_end", long.MaxValue), graph.Int64Constant("last_axis", 1)], "/model/last_position");
        string final = Norm(graph, last, graph.Initializer("model.norm.weight", weights.Read(LlamaTensor.FinalNorm, 0), shape.Dim), shape, "/model/norm");
        Classifier(graph, weights, quantization, final, embedding);

        var model = new ModelProto { IrVersion = 8, ProducerName = "edgellm", ProducerVersion = typeof(LlamaGraphBuilder).Assembly.GetName().Version?.ToString(3) ?? "", Graph = graph.Graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        model.MetadataProps.Add(new StringStringEntryProto { Key = SharedClassifierKey, Value = shape.SharedClassifier ? "true" : "false" });
        return model;
    }

    private static void DeclareInputsAndOutputs(LlamaShape shape, OnnxGraphWriter graph)
    {
        graph.Input(InputIds, DataType.Int64, "batch_size", "sequence_length");
        graph.Input(AttentionMask, DataType.Int64, "batch_size", "total_sequence_length");
        graph.Input(PositionIds, DataType.Int64, "batch_size", "sequence_length");
        for (int layer = 0; layer < shape.Layers; layer++)
        {
            graph.Input(GenAiConfig.LayerName(PastKeyFormat, layer), DataType.Float, "batch_size", shape.KvHeads, "past_sequence_length", shape.HeadSize);
            graph.Input(GenAiConfig.LayerName(PastValueFormat, layer), DataType.Float, "batch_size", shape.KvHeads, "past_sequence_length", shape.HeadSize);
        }

        graph.Output(Logits, DataType.Float, "batch_size", 1, shape.VocabSize);
        for (int layer = 0; layer < shape.Layers; layer++)
        {
            graph.Output(GenAiConfig.LayerName(PresentKeyFormat, layer), DataType.Float, "batch_size", shape.KvHeads, "total_sequence_length", shape.HeadSize);
            graph.Output(GenAiConfig.LayerName(PresentValueFormat, layer), DataType.Float, "batch_size", shape.KvHeads, "total_sequence_length", shape.HeadSize);
        }
    }

    // RMSNorm: x / sqrt(mean(x^2) + eps) * weight, ONNX Runtime's SimplifiedLayerNormalization.
    private static string Norm(OnnxGraphWriter graph, string input, string weight, LlamaShape shape, string name) =>
        graph.Node("SimplifiedLayerNormalization", [input, weight], name, Attribute("axis", -1L), Attribute("epsilon", shape.NormEpsilon), Attribute("stash_type", 1L));

    // Matrices that read the same input are stacked into one (their rows, the outputs, concatenated) so that
    // one kernel reads them all: decode reads every weight once per token, and fewer, larger kernels cost less.
    // Quantization blocks run along a row, so stacking changes no quantized value.
    private static string[] Projection(OnnxGraphWriter graph, ILlamaWeights weights, int layer, string input, Quantization quantization, string weightName, string nodeName, params LlamaTensor[] tensors) =>
        Projection(graph, weights, layer, input, quantization, weightName, nodeName, tensors, biases: null);

    // With biases, one per matrix, stacked as the matrices are and added before the split.
    private static string[] Projection(OnnxGraphWriter graph, ILlamaWeights weights, int layer, string input, Quantization quantization, string weightName, string nodeName, LlamaTensor[] tensors, LlamaTensor[]? biases)
    {
        int columns = LlamaTensorShapes.Of(weights.Shape, tensors[0]).Columns;
        int[] outputs = tensors.Select(t => LlamaTensorShapes.Of(weights.Shape, t).Rows).ToArray();
        int rows = outputs.Sum();
        float[] matrix = tensors.Length == 1 ? weights.Read(tensors[0], layer) : tensors.SelectMany(t => weights.Read(t, layer)).ToArray();

        string product;
        if (quantization.Bits() is int bits)
        {
            product = MatMulNBits(graph, input, Quantize(graph, $"{weightName}.weight", matrix, rows, columns, bits), columns, rows, nodeName);
        }
        else
        {
            // MatMul wants [in, out]; llama matrices are [out, in].
            string weight = graph.Initializer($"{weightName}.weight", Transpose(matrix, rows, columns), columns, rows);
            product = graph.Node("MatMul", [input, weight], nodeName);
        }

        if (biases is not null)
        {
            string bias = graph.Initializer($"{weightName}.bias", biases.SelectMany(b => weights.Read(b, layer)).ToArray(), rows);
            product = graph.Node("Add", [product, bias], $"{nodeName}/Add");
        }

        return tensors.Length == 1
            ? [product]
            : graph.Node("Split", [product, graph.Int64Constant($"{weightName}.split", outputs.Select(o => (long)o).ToArray())], $"{nodeName}/Split", outputs.Length, "", Attribute("axis", -1L));
    }

    // cos and sin of position × each inverse frequency (theta^(-2i/headSize), as the rope scaling changes it),
    // computed in float32 the way llama2.c's run.c does, times the scaling's magnitude.
    private static (string Cos, string Sin) RotaryCaches(LlamaShape shape, OnnxGraphWriter graph)
    {
        float[] frequencies = shape.RotaryFrequencies();
        float magnitude = shape.RopeScaling?.Magnitude ?? 1f;
        int half = frequencies.Length;
        var cos = new float[(long)shape.ContextLength * half];
        var sin = new float[cos.Length];
        for (int position = 0; position < shape.ContextLength; position++)
        {
            for (int i = 0; i < half; i++)
            {
                float angle = position * frequencies[i];
                cos[(long)position * half + i] = MathF.Cos(angle) * magnitude;
                sin[(long)position * half + i] = MathF.Sin(angle) * magnitude;
            }
        }

        return (graph.Initializer("cos_cache", cos, shape.ContextLength, half), graph.Initializer("sin_cache", sin, shape.ContextLength, half));
    }

    private static string Rotary(OnnxGraphWriter graph, string input, LlamaShape shape, string cosCache, string sinCache, string name) =>
        graph.Node("RotaryEmbedding", [input, PositionIds, cosCache, sinCache], name, 1, MicrosoftDomain,
            Attribute("interleaved", shape.InterleavedRotary ? 1L : 0L))[0];

    // The token embedding's lookup, with what a classifier sharing its values uses: the float32 table, or
    // blocks of its own quantized from the same read (written at once, so no table outlives this call).
    private sealed record EmbeddingTable(string Hidden, string? Float, QuantizedInitializer? SharedClassifier);

    private sealed record QuantizedInitializer(string Packed, string Scales, int Bits);

    // Quantized, the embedding is read by com.microsoft GatherBlockQuantized (uint8 data in MatMulNBits'
    // layout, with its implicit zero point), so a token's row is dequantized as it is looked up and only the
    // rows looked up are ever paged in from the memory-mapped weights. Float32 otherwise, and when the width
    // is not a whole number of blocks (the lookup would hand out the padding as part of the row).
    private static EmbeddingTable Embedding(OnnxGraphWriter graph, ILlamaWeights weights, Quantization quantization)
    {
        var shape = weights.Shape;
        float[] table = weights.Read(LlamaTensor.TokenEmbedding, 0);
        var sharedClassifier = shape.SharedClassifier && quantization.Bits() is int classifierBits
            ? Quantize(graph, "lm_head.weight", table, shape.VocabSize, shape.Dim, classifierBits)
            : null;
        if (quantization.Bits() is not int bits || !WeightBytes.EmbeddingIsQuantized(shape))
        {
            string embedding = graph.Initializer("model.embed_tokens.weight", table, shape.VocabSize, shape.Dim);
            return new(graph.Node("Gather", [embedding, InputIds], "/model/embed_tokens/Gather"), embedding, sharedClassifier);
        }

        var matrix = BlockQuantizer.Quantize(table, shape.VocabSize, shape.Dim, bits);
        string packed = graph.Initializer("model.embed_tokens.weight.packed", matrix.Packed, DataType.Uint8, shape.VocabSize, matrix.BlocksPerRow * matrix.BlobBytes);
        string scales = graph.Initializer("model.embed_tokens.weight.scales", matrix.Scales, shape.VocabSize, matrix.BlocksPerRow);
        string rows = graph.Node(
            "GatherBlockQuantized", [packed, InputIds, scales], "/model/embed_tokens/GatherBlockQuantized", 1, MicrosoftDomain,
            Attribute("gather_axis", 0L), Attribute("quantize_axis", 1L), Attribute("block_size", (long)BlockQuantizer.BlockSize), Attribute("bits", (long)bits))[0];
        return new(rows, null, sharedClassifier);
    }

    private static QuantizedInitializer Quantize(OnnxGraphWriter graph, string name, float[] values, int rows, int columns, int bits)
    {
        var matrix = BlockQuantizer.Quantize(values, rows, columns, bits);
        string packed = graph.Initializer($"{name}.packed", matrix.Packed, DataType.Uint8, rows, matrix.BlocksPerRow, matrix.BlobBytes);
        string scales = graph.Initializer($"{name}.scales", matrix.Scales, rows, matrix.BlocksPerRow);
        return new(packed, scales, bits);
    }

    private static string MatMulNBits(OnnxGraphWriter graph, string input, QuantizedInitializer weight, int columns, int rows, string name, string? output = null)
    {
        AttributeProto[] attributes =
        [
            Attribute("K", (long)columns), Attribute("N", (long)rows), Attribute("bits", (long)weight.Bits),
            Attribute("block_size", (long)BlockQuantizer.BlockSize), Attribute("accuracy_level", MatMulAccuracyLevel),
        ];
        if (output is null)
        {
            return graph.Node("MatMulNBits", [input, weight.Packed, weight.Scales], name, 1, MicrosoftDomain, attributes)[0];
        }

        graph.NodeWithOutputs("MatMulNBits", [input, weight.Packed, weight.Scales], [output], name, MicrosoftDomain, attributes);
        return output;
    }

    // logits = hidden · classifierᵀ. Quantized, the classifier is MatMulNBits with the body's bits, so that a
    // large vocabulary costs per token what the body's matrices cost; a shared one is stored a second time,
    // in MatMulNBits' blocks, since ONNX Runtime frees a matrix it has prepacked only when no other node (the
    // embedding's lookup) reads it: the copy on disk keeps the whole original out of memory. In float32 Gemm
    // with transB, so that a classifier shared with the embedding is stored once.
    private static void Classifier(OnnxGraphWriter graph, ILlamaWeights weights, Quantization quantization, string hidden, EmbeddingTable embedding)
    {
        var shape = weights.Shape;
        if (quantization.Bits() is int bits)
        {
            var classifier = embedding.SharedClassifier ?? Quantize(graph, "lm_head.weight", weights.Read(LlamaTensor.Classifier, 0), shape.VocabSize, shape.Dim, bits);
            MatMulNBits(graph, hidden, classifier, shape.Dim, shape.VocabSize, "/lm_head/MatMulNBits", Logits);
            return;
        }

        string weight = shape.SharedClassifier
            ? embedding.Float!
            : graph.Initializer("lm_head.weight", weights.Read(LlamaTensor.Classifier, 0), shape.VocabSize, shape.Dim);
        string rows = graph.Node("Reshape", [hidden, graph.Int64Constant("lm_head_rows_shape", -1, shape.Dim)], "/lm_head/Reshape");
        string logits = graph.Node("Gemm", [rows, weight], "/lm_head/Gemm", Attribute("transB", 1L));
        graph.NodeWithOutputs("Reshape", [logits, graph.Int64Constant("logits_shape", -1, 1, shape.VocabSize)], [Logits], "/lm_head/logits", "");
    }

    private static float[] Transpose(float[] matrix, int rows, int columns)
    {
        var transposed = new float[matrix.Length];
        for (int row = 0; row < rows; row++)
        {
            for (int column = 0; column < columns; column++)
            {
                transposed[(long)column * rows + row] = matrix[(long)row * columns + column];
            }
        }

        return transposed;
    }
}
