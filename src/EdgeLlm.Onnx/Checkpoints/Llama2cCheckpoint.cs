using System.Runtime.InteropServices;

namespace EdgeLlm.Onnx.Checkpoints;

/// <summary>
/// A llama2.c checkpoint: the legacy format (7 int32 header fields, then float32 tensors) or the versioned
/// "ak42" format version 1 (a 256-byte header, then float32 tensors in another order).
/// </summary>
public sealed class Llama2cCheckpoint : ILlamaWeights, IDisposable
{
    private const uint VersionedMagic = 0x616b3432; // "ak42" read as a little-endian uint32
    private const int LegacyHeaderBytes = 7 * sizeof(int);
    private const int VersionedHeaderBytes = 256;

    private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _file;
    private readonly Dictionary<LlamaTensor, long> _offsets;

    private Llama2cCheckpoint(string path, Microsoft.Win32.SafeHandles.SafeFileHandle file, LlamaShape shape, Dictionary<LlamaTensor, long> offsets, int formatVersion)
    {
        Source = path;
        _file = file;
        Shape = shape;
        _offsets = offsets;
        FormatVersion = formatVersion;
    }

    public LlamaShape Shape { get; }

    public string Source { get; }

    /// <summary>0 for the legacy format, else the "ak42" header's version.</summary>
    public int FormatVersion { get; }

    /// <summary>Opens a checkpoint and checks that its size matches its header, without reading the weights.</summary>
    public static Llama2cCheckpoint Open(string path)
    {
        var file = OpenFile(path);
        try
        {
            long length = RandomAccess.GetLength(file);
            var header = new byte[VersionedHeaderBytes];
            int headerRead = RandomAccess.Read(file, header, 0);
            if (headerRead < LegacyHeaderBytes)
            {
                throw new ModelFileException(path, $"truncated: {length} bytes is shorter than a llama2.c header");
            }

            var fields = MemoryMarshal.Cast<byte, int>(header.AsSpan());
            int formatVersion;
            int headerBytes;
            bool sharedClassifier;
            ReadOnlySpan<int> dims;
            if ((uint)fields[0] == VersionedMagic)
            {
                if (headerRead < VersionedHeaderBytes)
                {
                    throw new ModelFileException(path, $"truncated: {length} bytes is shorter than the 256-byte \"ak42\" header");
                }

                formatVersion = fields[1];
                if (formatVersion != 1)
                {
                    throw new ModelFileException(path, formatVersion == 2
                        ? "llama2.c format version 2 (int8 Q8_0 export) is not supported: export the checkpoint with --version 1 or as a legacy file"
                        : $"unknown llama2.c format version {formatVersion} (supported: legacy and version 1)");
                }

                dims = fields.Slice(2, 7);
                sharedClassifier = header[2 * sizeof(int) + 7 * sizeof(int)] != 0;
                headerBytes = VersionedHeaderBytes;
            }
            else
            {
                formatVersion = 0;
                dims = fields[..7];
                // The legacy format marks a separate classifier with a negative vocabulary size.
                sharedClassifier = dims[5] > 0;
                headerBytes = LegacyHeaderBytes;
            }

            var shape = new LlamaShape(
                Dim: dims[0], HiddenDim: dims[1], Layers: dims[2], Heads: dims[3], KvHeads: dims[4],
                VocabSize: (int)Math.Min(Math.Abs((long)dims[5]), int.MaxValue), ContextLength: dims[6], SharedClassifier: sharedClassifier);
            shape.Validate(path);

            var (offsets, end) = formatVersion == 0 ? LegacyLayout(shape, headerBytes) : Version1Layout(shape, headerBytes);
            if (length < end)
            {
                throw new ModelFileException(path, $"truncated: {length} bytes, but the header's dimensions need {end}");
            }

            if (length > end)
            {
                throw new ModelFileException(path, $"{length - end} bytes more than the header's dimensions account for ({end}): not a llama2.c checkpoint of this shape");
            }

            return new Llama2cCheckpoint(path, file, shape, offsets, formatVersion);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public float[] Read(LlamaTensor tensor, int layer)
    {
        if (!_offsets.TryGetValue(tensor, out long offset))
        {
            // A shared classifier is the token embedding itself.
            return Read(LlamaTensor.TokenEmbedding, 0);
        }

        long count = LlamaTensorShapes.ElementCount(Shape, tensor);
        if (LlamaTensorShapes.IsPerLayer(tensor))
        {
            ArgumentOutOfRangeException.ThrowIfNegative(layer);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(layer, Shape.Layers);
            offset += layer * count * sizeof(float);
        }

        var values = new float[count];
        var bytes = MemoryMarshal.AsBytes(values.AsSpan());
        int read = 0;
        while (read < bytes.Length)
        {
            int n = RandomAccess.Read(_file, bytes[read..], offset + read);
            if (n == 0)
            {
                throw new ModelFileException(Source, $"ended while reading {tensor}");
            }

            read += n;
        }

        if (!AllFinite(values))
        {
            string where = LlamaTensorShapes.IsPerLayer(tensor) ? $" of layer {layer}" : "";
            throw new ModelFileException(Source, $"{tensor}{where} holds values that are not finite numbers (a corrupt checkpoint?)");
        }

        return values;
    }

    public void Dispose() => _file.Dispose();

    private static bool AllFinite(ReadOnlySpan<float> values)
    {
        foreach (float value in values)
        {
            if (!float.IsFinite(value))
            {
                return false;
            }
        }

        return true;
    }

    private static Microsoft.Win32.SafeHandles.SafeFileHandle OpenFile(string path)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFileException(path, e.Message, e);
        }
    }

    // run.c's memory_map_weights order, including the unused freq_cis tables of the legacy format.
    private static (Dictionary<LlamaTensor, long>, long End) LegacyLayout(LlamaShape shape, long start)
    {
        var layout = new LayoutBuilder(shape, start);
        layout.Tensor(LlamaTensor.TokenEmbedding);
        layout.Tensor(LlamaTensor.AttentionNorm);
        layout.Tensor(LlamaTensor.QueryProjection);
        layout.Tensor(LlamaTensor.KeyProjection);
        layout.Tensor(LlamaTensor.ValueProjection);
        layout.Tensor(LlamaTensor.OutputProjection);
        layout.Tensor(LlamaTensor.FeedForwardNorm);
        layout.Tensor(LlamaTensor.GateProjection);
        layout.Tensor(LlamaTensor.DownProjection);
        layout.Tensor(LlamaTensor.UpProjection);
        layout.Tensor(LlamaTensor.FinalNorm);
        layout.Skip(2L * shape.ContextLength * (shape.HeadSize / 2));
        if (!shape.SharedClassifier)
        {
            layout.Tensor(LlamaTensor.Classifier);
        }

        return (layout.Offsets, layout.Position);
    }

    // export.py's version1_export order.
    private static (Dictionary<LlamaTensor, long>, long End) Version1Layout(LlamaShape shape, long start)
    {
        var layout = new LayoutBuilder(shape, start);
        layout.Tensor(LlamaTensor.AttentionNorm);
        layout.Tensor(LlamaTensor.FeedForwardNorm);
        layout.Tensor(LlamaTensor.FinalNorm);
        layout.Tensor(LlamaTensor.TokenEmbedding);
        layout.Tensor(LlamaTensor.QueryProjection);
        layout.Tensor(LlamaTensor.KeyProjection);
        layout.Tensor(LlamaTensor.ValueProjection);
        layout.Tensor(LlamaTensor.OutputProjection);
        layout.Tensor(LlamaTensor.GateProjection);
        layout.Tensor(LlamaTensor.DownProjection);
        layout.Tensor(LlamaTensor.UpProjection);
        if (!shape.SharedClassifier)
        {
            layout.Tensor(LlamaTensor.Classifier);
        }

        return (layout.Offsets, layout.Position);
    }

    private sealed class LayoutBuilder(LlamaShape shape, long start)
    {
        public Dictionary<LlamaTensor, long> Offsets { get; } = [];

        public long Position { get; private set; } = start;

        public void Tensor(LlamaTensor tensor)
        {
            Offsets[tensor] = Position;
            int copies = LlamaTensorShapes.IsPerLayer(tensor) ? shape.Layers : 1;
            Skip(LlamaTensorShapes.ElementCount(shape, tensor) * copies);
        }

        public void Skip(long floats) => Position += floats * sizeof(float);
    }
}
