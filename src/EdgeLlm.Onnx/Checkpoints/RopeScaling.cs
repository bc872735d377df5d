namespace EdgeLlm.Onnx.Checkpoints;

/// <summary>
/// How a model stretches its rotary embeddings past the context it was trained on (config.json's
/// "rope_scaling"): the inverse frequency of each pair of a head's elements, and a factor on cos and sin.
/// </summary>
public abstract record RopeScaling
{
    /// <summary>The factor on cos and sin (and so on the attention logits, squared); 1 for most schemes.</summary>
    public virtual float Magnitude => 1f;

    /// <summary>Inverse frequencies theta^(-2i/headSize) for i below headSize/2, as the scheme changes them.</summary>
    public abstract float[] InverseFrequencies(int headSize, float theta);

    /// <summary>The unscaled frequencies, computed in float32 the way llama2.c's run.c does.</summary>
    public static float[] Plain(int headSize, float theta)
    {
        var frequencies = new float[headSize / 2];
        for (int i = 0; i < frequencies.Length; i++)
        {
            frequencies[i] = 1.0f / MathF.Pow(theta, 2 * i / (float)headSize);
        }

        return frequencies;
    }
}

/// <summary>Llama 3.1/3.2's scheme ("rope_type": "llama3"): long wavelengths slowed by Factor, short ones kept, the band between blended.</summary>
public sealed record Llama3RopeScaling(float Factor, float LowFrequencyFactor, float HighFrequencyFactor, int OriginalContextLength) : RopeScaling
{
    public override float[] InverseFrequencies(int headSize, float theta)
    {
        float[] frequencies = Plain(headSize, theta);
        float lowFrequencyWavelength = OriginalContextLength / LowFrequencyFactor;
        float highFrequencyWavelength = OriginalContextLength / HighFrequencyFactor;
        for (int i = 0; i < frequencies.Length; i++)
        {
            float wavelength = 2 * MathF.PI / frequencies[i];
            if (wavelength > lowFrequencyWavelength)
            {
                frequencies[i] /= Factor;
            }
            else if (wavelength >= highFrequencyWavelength)
            {
                float smooth = (OriginalContextLength / wavelength - LowFrequencyFactor) / (HighFrequencyFactor - LowFrequencyFactor);
                frequencies[i] = (1 - smooth) * frequencies[i] / Factor + smooth * frequencies[i];
            }
        }

        return frequencies;
    }
}

/// <summary>
/// Phi-3's LongRoPE ("type": "longrope") within its original context: each frequency divided by its
/// short factor, cos and sin scaled by sqrt(1 + ln(context / original) / ln(original)).
/// </summary>
public sealed record LongRopeScaling(IReadOnlyList<float> ShortFactors, int ContextLength, int OriginalContextLength) : RopeScaling
{
    public override float Magnitude => ContextLength <= OriginalContextLength
        ? 1f
        : MathF.Sqrt(1 + MathF.Log(ContextLength / (float)OriginalContextLength) / MathF.Log(OriginalContextLength));

    public override float[] InverseFrequencies(int headSize, float theta)
    {
        float[] frequencies = Plain(headSize, theta);
        for (int i = 0; i < frequencies.Length; i++)
        {
            frequencies[i] /= ShortFactors[i];
        }

        return frequencies;
    }
}
