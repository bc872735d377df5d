using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace EdgeLlm.Onnx.Engine;

/// <summary>The model's prediction at each position of a fed sequence.</summary>
/// <param name="ArgMax">The most likely next id after each position.</param>
/// <param name="MeanNegativeLogLikelihood">Mean of -log p(ids[i+1] | ids[..i]) over the sequence, in nats.</param>
public sealed record Evaluation(IReadOnlyList<int> ArgMax, double MeanNegativeLogLikelihood);

/// <summary>
/// Feeds an id sequence through a model folder's decoder (teacher forcing), the way a user measures what
/// quantization cost. Runs the ONNX graph directly: GenAI hands out only the last position's logits.
/// </summary>
public sealed class ModelEvaluator : IDisposable
{
    private readonly GenAiConfig _config;
    private readonly InferenceSession _session;

    public ModelEvaluator(string folder)
    {
        _config = GenAiConfig.Read(folder);
        string path = Path.Combine(folder, _config.DecoderFile);
        try
        {
            _session = new InferenceSession(path);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelFileException(path, e.Message, e);
        }
    }

    public Evaluation Evaluate(IReadOnlyList<int> ids)
    {
        if (ids.Count == 0)
        {
            throw new ArgumentException("no ids to evaluate", nameof(ids));
        }

        if (ids.Count > _config.ContextLength)
        {
            throw new ArgumentException($"{ids.Count} ids exceed the model's context length of {_config.ContextLength}", nameof(ids));
        }

        foreach (int id in ids)
        {
            if (id < 0 || id >= _config.VocabSize)
            {
                throw new ArgumentException($"id {id} is outside the vocabulary (0 to {_config.VocabSize - 1})", nameof(ids));
            }
        }

        // Our graphs hand out the last position's logits only (all a generation needs, and a long prompt's
        // logits for a large vocabulary would take more memory than the model): each prefix is then fed once
        // more. Published graphs hand out every position's in one pass.
        float[] logits = Logits(ids);
        int vocab = _config.VocabSize;
        if (logits.Length == vocab * ids.Count)
        {
            return Score(logits, ids);
        }

        var everyPosition = new float[vocab * ids.Count];
        for (int length = 1; length <= ids.Count; length++)
        {
            float[] last = length == ids.Count ? logits : Logits([.. ids.Take(length)]);
            last.AsSpan(last.Length - vocab).CopyTo(everyPosition.AsSpan((length - 1) * vocab));
        }

        return Score(everyPosition, ids);
    }

    private float[] Logits(IReadOnlyList<int> ids)
    {
        int length = ids.Count;
        long[] shape = [1, length];
        var inputs = new Dictionary<string, OrtValue>
        {
            [_config.InputIdsName] = OrtValue.CreateTensorValueFromMemory(ids.Select(id => (long)id).ToArray(), shape),
            [_config.AttentionMaskName] = OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, length).ToArray(), shape),
        };
        if (_config.PositionIdsName is string positionIds)
        {
            inputs[positionIds] = OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, length).Select(i => (long)i).ToArray(), shape);
        }

        long[] emptyCache = [1, _config.KvHeads, 0, _config.HeadSize];
        for (int layer = 0; layer < _config.Layers; layer++)
        {
            inputs[GenAiConfig.LayerName(_config.PastKeyFormat, layer)] = OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), emptyCache);
            inputs[GenAiConfig.LayerName(_config.PastValueFormat, layer)] = OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), emptyCache);
        }

        try
        {
            using var runOptions = new RunOptions();
            using var outputs = _session.Run(runOptions, inputs.Keys.ToArray(), inputs.Values.ToArray(), [_config.LogitsName]);
            return outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            foreach (var value in inputs.Values)
            {
                value.Dispose();
            }
        }
    }

    public void Dispose() => _session.Dispose();

    private Evaluation Score(float[] logits, IReadOnlyList<int> ids)
    {
        int vocab = _config.VocabSize;
        var argMax = new int[ids.Count];
        double totalNll = 0;
        for (int position = 0; position < ids.Count; position++)
        {
            var row = logits.AsSpan(position * vocab, vocab);
            int best = 0;
            float max = row[0];
            for (int id = 1; id < vocab; id++)
            {
                if (row[id] > max)
                {
                    max = row[id];
                    best = id;
                }
            }

            argMax[position] = best;
            if (position + 1 < ids.Count)
            {
                double sum = 0;
                foreach (float logit in row)
                {
                    sum += Math.Exp(logit - max);
                }

                // -log softmax(row)[next] = log(sum exp(row - max)) - (row[next] - max)
                totalNll += Math.Log(sum) - (row[ids[position + 1]] - max);
            }
        }

        double mean = ids.Count > 1 ? totalNll / (ids.Count - 1) : 0;
        return new Evaluation(argMax, mean);
    }
}
