namespace EdgeLlm.Onnx.Building;

/// <summary>How the projection matrices of a built model are stored.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720", Justification = "int8 and int4 are the names users know these formats by.")]
public enum Quantization
{
    /// <summary>float32 throughout.</summary>
    Fp32,

    /// <summary>8-bit symmetric weights in blocks of 64 (MatMulNBits, bits 8): 8.5 bits a weight, as llama.cpp's Q8_0.</summary>
    Int8,

    /// <summary>4-bit symmetric weights in blocks of 64 (MatMulNBits, bits 4): 4.5 bits a weight, as llama.cpp's Q4_0.</summary>
    Int4,
}

public static class QuantizationNames
{
    public static string ToName(this Quantization quantization) => quantization switch
    {
        Quantization.Fp32 => "fp32",
        Quantization.Int8 => "int8",
        Quantization.Int4 => "int4",
        _ => throw new ArgumentOutOfRangeException(nameof(quantization), quantization, null),
    };

    public static bool TryParse(string? name, out Quantization quantization)
    {
        foreach (var candidate in Enum.GetValues<Quantization>())
        {
            if (string.Equals(candidate.ToName(), name, StringComparison.OrdinalIgnoreCase))
            {
                quantization = candidate;
                return true;
            }
        }

        quantization = default;
        return false;
    }

    /// <summary>Bits per weight of the quantized matrices, or null for float32.</summary>
    public static int? Bits(this Quantization quantization) => quantization switch
    {
        Quantization.Int8 => 8,
        Quantization.Int4 => 4,
        _ => null,
    };
}
