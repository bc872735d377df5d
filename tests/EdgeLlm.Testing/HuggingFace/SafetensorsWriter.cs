using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace EdgeLlm.Tests.HuggingFace;

/// <summary>A tensor to write, its values as float32 and the element type to store them in (F32, F16, BF16).</summary>
public sealed record NamedTensor(string Name, long[] Shape, float[] Values, string DType = "F32");

/// <summary>Writes safetensors files as Hugging Face's safetensors library does: the header length, the JSON header, the data.</summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IEnumerable<NamedTensor> tensors)
    {
        var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
        var data = new MemoryStream();
        Span<byte> bytes = stackalloc byte[4];
        foreach (var tensor in tensors)
        {
            long begin = data.Length;
            foreach (float value in tensor.Values)
            {
                int length = Encode(tensor.DType, value, bytes);
                data.Write(bytes[..length]);
            }

            header[tensor.Name] = new JsonObject
            {
                ["dtype"] = tensor.DType,
                ["shape"] = new JsonArray([.. tensor.Shape.Select(d => (JsonNode)d)]),
                ["data_offsets"] = new JsonArray(begin, data.Length),
            };
        }

        byte[] json = Encoding.UTF8.GetBytes(header.ToJsonString());
        using var file = File.Create(path);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)json.Length);
        file.Write(prefix);
        file.Write(json);
        data.Position = 0;
        data.CopyTo(file);
    }

    /// <summary>The value as the element type stores it, read back as float32: what a reader must return.</summary>
    public static float Stored(string dtype, float value) => dtype switch
    {
        "F16" => (float)(Half)value,
        "BF16" => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(value) & unchecked((int)0xFFFF0000)),
        _ => value,
    };

    private static int Encode(string dtype, float value, Span<byte> bytes)
    {
        switch (dtype)
        {
            case "F16":
                BinaryPrimitives.WriteHalfLittleEndian(bytes, (Half)value);
                return 2;
            case "BF16":
                BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)(BitConverter.SingleToUInt32Bits(value) >> 16));
                return 2;
            default:
                BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
                return 4;
        }
    }
}
