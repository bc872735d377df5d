using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using EdgeLlm.Core;
using Microsoft.Win32.SafeHandles;

namespace EdgeLlm.Onnx.HuggingFace;

/// <summary>One tensor of a safetensors file: its element type, its shape, and where its bytes are.</summary>
internal sealed record SafetensorsTensor(string Name, string DType, long[] Shape, long Begin, long End)
{
    public int ElementBytes => DType == "F32" ? 4 : 2;

    public long ElementCount => Shape.Aggregate(1L, (count, dimension) => count * dimension);
}

/// <summary>
/// A safetensors file (an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape
/// and byte range, then the data), read a few rows at a time: F32, F16 and BF16 become float32 as they are
/// read, so that converting a model never holds more of the file in memory than the tensor being converted.
/// </summary>
internal sealed class SafetensorsFile : IDisposable
{
    private const long MaxHeaderBytes = 100 << 20;
    private const int ChunkBytes = 1 << 20;

    private readonly SafeFileHandle _file;
    private readonly long _dataStart;

    private SafetensorsFile(string path, SafeFileHandle file, long dataStart, IReadOnlyDictionary<string, SafetensorsTensor> tensors)
    {
        Path = path;
        _file = file;
        _dataStart = dataStart;
        Tensors = tensors;
    }

    public string Path { get; }

    public IReadOnlyDictionary<string, SafetensorsTensor> Tensors { get; }

    public static SafetensorsFile Open(string path)
    {
        SafeFileHandle file;
        try
        {
            file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFileException(path, e is FileNotFoundException ? "missing" : e.Message, e);
        }

        try
        {
            long length = RandomAccess.GetLength(file);
            var prefix = new byte[sizeof(ulong)];
            if (length < prefix.Length || RandomAccess.Read(file, prefix, 0) < prefix.Length)
            {
                throw new ModelFileException(path, "truncated: shorter than a safetensors header");
            }

            ulong headerBytes = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerBytes > MaxHeaderBytes || (long)headerBytes > length - prefix.Length)
            {
                throw new ModelFileException(path, $"not a safetensors file: its header claims {headerBytes} bytes");
            }

            var header = new byte[headerBytes];
            RandomAccess.Read(file, header, prefix.Length);
            long dataStart = prefix.Length + (long)headerBytes;
            return new SafetensorsFile(path, file, dataStart, ReadHeader(path, header, length - dataStart));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Rows [<paramref name="firstRow"/>, +<paramref name="rows"/>) of a tensor (a vector is one row), as float32.</summary>
    public float[] ReadRows(SafetensorsTensor tensor, long firstRow, long rows)
    {
        long columns = tensor.Shape.Length > 1 ? tensor.ElementCount / tensor.Shape[0] : tensor.ElementCount;
        var values = new float[rows * columns];
        long offset = _dataStart + tensor.Begin + firstRow * columns * tensor.ElementBytes;
        // A chunk at most: a norm's few hundred bytes need no megabyte.
        var buffer = new byte[Math.Min(ChunkBytes, values.LongLength * tensor.ElementBytes)];
        long done = 0;
        while (done < values.Length)
        {
            int count = (int)Math.Min(ChunkBytes / tensor.ElementBytes, values.Length - done);
            var bytes = buffer.AsSpan(0, count * tensor.ElementBytes);
            if (RandomAccess.Read(_file, bytes, offset + done * tensor.ElementBytes) < bytes.Length)
            {
                throw new ModelFileException(Path, $"truncated inside tensor {tensor.Name}");
            }

            Convert(tensor.DType, bytes, values.AsSpan((int)done, count));
            done += count;
        }

        return values;
    }

    public void Dispose() => _file.Dispose();

    // The file is little-endian, as every machine EdgeLlm runs on.
    private static void Convert(string dtype, ReadOnlySpan<byte> bytes, Span<float> values)
    {
        switch (dtype)
        {
            case "F32":
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(values);
                break;
            case "F16":
                var halves = MemoryMarshal.Cast<byte, Half>(bytes);
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = (float)halves[i];
                }

                break;
            default:
                // bfloat16 is the top half of a float32.
                var tops = MemoryMarshal.Cast<byte, ushort>(bytes);
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = BitConverter.Int32BitsToSingle(tops[i] << 16);
                }

                break;
        }
    }

    private static Dictionary<string, SafetensorsTensor> ReadHeader(string path, byte[] header, long dataBytes)
    {
        var tensors = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
        try
        {
            using var document = JsonPayload.Parse(header);
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                if (entry.Name == "__metadata__")
                {
                    continue;
                }

                string dtype = entry.Value.GetProperty("dtype").GetString() ?? "";
                if (dtype is not ("F32" or "F16" or "BF16"))
                {
                    throw new ModelFileException(path, $"tensor {entry.Name} is {dtype}: only F32, F16 and BF16 weights are read");
                }

                long[] shape = [.. entry.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())];
                var offsets = entry.Value.GetProperty("data_offsets");
                var tensor = new SafetensorsTensor(entry.Name, dtype, shape, offsets[0].GetInt64(), offsets[1].GetInt64());
                if (tensor.Begin < 0 || tensor.End > dataBytes || tensor.End - tensor.Begin != tensor.ElementCount * tensor.ElementBytes)
                {
                    throw new ModelFileException(path, $"tensor {entry.Name}: its byte range {tensor.Begin}–{tensor.End} does not hold its shape [{string.Join(", ", shape)}] within the file");
                }

                tensors[entry.Name] = tensor;
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException or FormatException)
        {
            throw new ModelFileException(path, $"its safetensors header is malformed ({e.Message})", e);
        }

        return tensors;
    }
}
