using EdgeLlm.Onnx.Building;

namespace EdgeLlm.Onnx.Tests.Building;

public sealed class BlockQuantizerTests
{
    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    public void Quantize_RoundTrip_StaysWithinHalfAStep(int bits)
    {
        const int Columns = 3 * BlockQuantizer.BlockSize;
        float[] weights = RandomMatrix(rows: 7, columns: Columns, seed: bits);

        var quantized = BlockQuantizer.Quantize(weights, 7, Columns, bits);
        float[] restored = Dequantize(quantized);

        for (int i = 0; i < weights.Length; i++)
        {
            float step = MathF.Abs(quantized.Scales[i / Columns * quantized.BlocksPerRow + i % Columns / BlockQuantizer.BlockSize]);
            // The largest magnitude's opposite can land one level past the range and be clamped.
            Assert.True(MathF.Abs(weights[i] - restored[i]) <= step * 1.0001f, $"value {i}: {weights[i]} became {restored[i]} (step {step})");
        }

        double meanError = weights.Zip(restored, (w, r) => Math.Abs(w - r)).Average();
        Assert.True(meanError < (bits == 8 ? 0.002 : 0.05), $"mean error {meanError}");
    }

    [Fact]
    public void Quantize_BlockExtreme_IsRepresentedExactly()
    {
        // A block of small values, then a second block that holds only its extreme.
        const int Block = BlockQuantizer.BlockSize;
        float[] weights = [.. Enumerable.Range(0, Block).Select(i => i * 0.31f / (Block - 1)), -2.5f];

        var quantized = BlockQuantizer.Quantize(weights, 1, Block + 1, 4);
        float[] restored = Dequantize(quantized);

        Assert.Equal(0.31f, restored[Block - 1], 6);
        Assert.Equal(-2.5f, restored[Block], 6);
    }

    [Fact]
    public void Quantize_PartialLastBlock_IsZeroPadded()
    {
        // A row of one block and 8 values: the second block is 8 values (4 bytes) and padding.
        const int Block = BlockQuantizer.BlockSize, Blob = Block / 2;
        float[] weights = RandomMatrix(rows: 2, columns: Block + 8, seed: 3);

        var quantized = BlockQuantizer.Quantize(weights, 2, Block + 8, 4);

        Assert.Equal(2, quantized.BlocksPerRow);
        Assert.Equal(2 * 2 * Blob, quantized.Packed.Length);
        // Padding columns hold the zero point 8 in both nibbles.
        byte[] lastBlockOfFirstRow = quantized.Packed.AsSpan(Blob, Blob).ToArray();
        Assert.All(lastBlockOfFirstRow[4..], b => Assert.Equal(0x88, b));
    }

    [Fact]
    public void Quantize_Int4_PutsTheEarlierValueInTheLowNibble()
    {
        float[] weights = new float[BlockQuantizer.BlockSize];
        weights[0] = -1f;   // the extreme: level 0
        weights[1] = 0.5f;  // 0.5 / (1/8) = 4 steps up: level 12

        var quantized = BlockQuantizer.Quantize(weights, 1, BlockQuantizer.BlockSize, 4);

        Assert.Equal(1f / 8f, quantized.Scales[0], 6);
        Assert.Equal(0xC0, quantized.Packed[0]);
    }

    [Fact]
    public void Quantize_ZeroBlock_RestoresZeros()
    {
        var quantized = BlockQuantizer.Quantize(new float[2 * BlockQuantizer.BlockSize], 2, BlockQuantizer.BlockSize, 8);

        Assert.All(Dequantize(quantized), v => Assert.Equal(0f, v));
    }

    // MatMulNBits' reading of its B input without zero points: (level - 2^(bits-1)) * scale.
    private static float[] Dequantize(QuantizedMatrix matrix)
    {
        var values = new float[matrix.Rows * matrix.Columns];
        int half = 1 << (matrix.Bits - 1);
        for (int row = 0; row < matrix.Rows; row++)
        {
            for (int column = 0; column < matrix.Columns; column++)
            {
                int block = row * matrix.BlocksPerRow + column / BlockQuantizer.BlockSize;
                int start = block * matrix.BlobBytes;
                int inBlock = column % BlockQuantizer.BlockSize;
                int level = matrix.Bits == 8 ? matrix.Packed[start + inBlock] : (matrix.Packed[start + inBlock / 2] >> (inBlock % 2 * 4)) & 0xF;
                values[row * matrix.Columns + column] = (level - half) * matrix.Scales[block];
            }
        }

        return values;
    }

    private static float[] RandomMatrix(int rows, int columns, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows * columns).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }
}
