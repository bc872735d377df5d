namespace EdgeLlm.Onnx.Tests.HuggingFace;

/// <summary>The dimensions and options of a decoder as config.json states them, for <see cref="HfReferenceDecoder"/>.</summary>
internal sealed record HfReferenceShape(int Dim, int Hidden, int Layers, int Heads, int KvHeads, int Vocab, double Theta, double Epsilon, bool Fused, bool Biases, bool Tied, Func<int, double[]> Frequencies, double Magnitude);

/// <summary>
/// A llama-family decoder written from Hugging Face's modeling code (rotate-half rotary embeddings, grouped
/// key/value heads, RMSNorm, SiLU gating), in double precision and without a cache: the independent answer
/// the ONNX graph is checked against. Slow, and meant for tiny models.
/// </summary>
internal sealed class HfReferenceDecoder(HfReferenceShape shape, IReadOnlyDictionary<string, float[]> tensors)
{
    private int HeadSize => shape.Dim / shape.Heads;

    /// <summary>The logits after each position of <paramref name="ids"/>.</summary>
    public double[][] Logits(IReadOnlyList<int> ids)
    {
        int length = ids.Count;
        var x = new double[length][];
        for (int p = 0; p < length; p++)
        {
            x[p] = Row("model.embed_tokens.weight", ids[p], shape.Dim);
        }

        for (int layer = 0; layer < shape.Layers; layer++)
        {
            string prefix = $"model.layers.{layer}.";
            var q = new double[length][];
            var k = new double[length][];
            var v = new double[length][];
            for (int p = 0; p < length; p++)
            {
                double[] h = Norm(x[p], prefix + "input_layernorm.weight");
                (q[p], k[p], v[p]) = Attention(prefix, h);
                Rotate(q[p], shape.Heads, p);
                Rotate(k[p], shape.KvHeads, p);
            }

            for (int p = 0; p < length; p++)
            {
                double[] attended = new double[shape.Dim];
                for (int head = 0; head < shape.Heads; head++)
                {
                    int kvHead = head / (shape.Heads / shape.KvHeads);
                    var scores = new double[p + 1];
                    for (int t = 0; t <= p; t++)
                    {
                        for (int i = 0; i < HeadSize; i++)
                        {
                            scores[t] += q[p][head * HeadSize + i] * k[t][kvHead * HeadSize + i];
                        }

                        scores[t] /= Math.Sqrt(HeadSize);
                    }

                    double[] weights = Softmax(scores);
                    for (int t = 0; t <= p; t++)
                    {
                        for (int i = 0; i < HeadSize; i++)
                        {
                            attended[head * HeadSize + i] += weights[t] * v[t][kvHead * HeadSize + i];
                        }
                    }
                }

                Add(x[p], MatVec(prefix + "self_attn.o_proj.weight", 0, shape.Dim, attended));
                double[] h = Norm(x[p], prefix + "post_attention_layernorm.weight");
                double[] gate = shape.Fused ? MatVec(prefix + "mlp.gate_up_proj.weight", 0, shape.Hidden, h) : MatVec(prefix + "mlp.gate_proj.weight", 0, shape.Hidden, h);
                double[] up = shape.Fused ? MatVec(prefix + "mlp.gate_up_proj.weight", shape.Hidden, shape.Hidden, h) : MatVec(prefix + "mlp.up_proj.weight", 0, shape.Hidden, h);
                for (int i = 0; i < gate.Length; i++)
                {
                    gate[i] = gate[i] / (1 + Math.Exp(-gate[i])) * up[i];
                }

                Add(x[p], MatVec(prefix + "mlp.down_proj.weight", 0, shape.Dim, gate));
            }
        }

        return [.. x.Select(row => MatVec(shape.Tied ? "model.embed_tokens.weight" : "lm_head.weight", 0, shape.Vocab, Norm(row, "model.norm.weight")))];
    }

    /// <summary>The most likely next id after each position, and the mean negative log-likelihood of the ids that follow.</summary>
    public (int[] ArgMax, double MeanNegativeLogLikelihood) Evaluate(IReadOnlyList<int> ids)
    {
        double[][] logits = Logits(ids);
        int[] argMax = [.. logits.Select(l => Array.IndexOf(l, l.Max()))];
        double nll = 0;
        for (int p = 0; p + 1 < ids.Count; p++)
        {
            double max = logits[p].Max();
            nll += Math.Log(logits[p].Sum(l => Math.Exp(l - max))) + max - logits[p][ids[p + 1]];
        }

        return (argMax, nll / (ids.Count - 1));
    }

    private (double[] Q, double[] K, double[] V) Attention(string prefix, double[] h)
    {
        int kv = shape.KvHeads * HeadSize;
        double[] q = shape.Fused ? MatVec(prefix + "self_attn.qkv_proj.weight", 0, shape.Dim, h) : MatVec(prefix + "self_attn.q_proj.weight", 0, shape.Dim, h);
        double[] k = shape.Fused ? MatVec(prefix + "self_attn.qkv_proj.weight", shape.Dim, kv, h) : MatVec(prefix + "self_attn.k_proj.weight", 0, kv, h);
        double[] v = shape.Fused ? MatVec(prefix + "self_attn.qkv_proj.weight", shape.Dim + kv, kv, h) : MatVec(prefix + "self_attn.v_proj.weight", 0, kv, h);
        if (shape.Biases)
        {
            Add(q, [.. tensors[prefix + "self_attn.q_proj.bias"].Select(b => (double)b)]);
            Add(k, [.. tensors[prefix + "self_attn.k_proj.bias"].Select(b => (double)b)]);
            Add(v, [.. tensors[prefix + "self_attn.v_proj.bias"].Select(b => (double)b)]);
        }

        return (q, k, v);
    }

    // Rotate-half: the pair (x[i], x[i + half]) of each head turns by position × frequency i.
    private void Rotate(double[] vector, int heads, int position)
    {
        int half = HeadSize / 2;
        double[] frequencies = shape.Frequencies(HeadSize);
        for (int head = 0; head < heads; head++)
        {
            for (int i = 0; i < half; i++)
            {
                double cos = Math.Cos(position * frequencies[i]) * shape.Magnitude, sin = Math.Sin(position * frequencies[i]) * shape.Magnitude;
                int a = head * HeadSize + i, b = a + half;
                (vector[a], vector[b]) = (vector[a] * cos - vector[b] * sin, vector[b] * cos + vector[a] * sin);
            }
        }
    }

    private double[] Norm(double[] x, string weight)
    {
        double scale = 1 / Math.Sqrt(x.Sum(v => v * v) / x.Length + shape.Epsilon);
        float[] w = tensors[weight];
        return [.. x.Select((v, i) => v * scale * w[i])];
    }

    // Rows [first, first + rows) of a [out, in] matrix times the vector.
    private double[] MatVec(string name, int first, int rows, double[] vector)
    {
        float[] matrix = tensors[name];
        var result = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            long offset = (long)(first + r) * vector.Length;
            for (int c = 0; c < vector.Length; c++)
            {
                result[r] += matrix[offset + c] * vector[c];
            }
        }

        return result;
    }

    private double[] Row(string name, int row, int columns) => [.. tensors[name].Skip(row * columns).Take(columns).Select(v => (double)v)];

    private static void Add(double[] into, double[] values)
    {
        for (int i = 0; i < into.Length; i++)
        {
            into[i] += values[i];
        }
    }

    private static double[] Softmax(double[] scores)
    {
        double max = scores.Max();
        double[] exps = [.. scores.Select(s => Math.Exp(s - max))];
        double sum = exps.Sum();
        return [.. exps.Select(e => e / sum)];
    }
}
