using System.Runtime.InteropServices;
using EdgeLlm.Onnx.Ir;
using Google.Protobuf;

namespace EdgeLlm.Onnx.Building;

/// <summary>
/// Builds an ONNX graph node by node. Initializers go into the model file, or, when an external data file
/// is given, every initializer of at least <see cref="ExternalThresholdBytes"/> goes there, page-aligned so
/// that ONNX Runtime can map it instead of copying it.
/// </summary>
internal sealed class OnnxGraphWriter : IDisposable
{
    public const int ExternalThresholdBytes = 1024;
    private const int ExternalAlignment = 4096;

    private readonly FileStream? _externalData;
    private readonly string? _externalFileName;
    private readonly Dictionary<string, int> _nodeNames = [];

    public OnnxGraphWriter(string graphName, string? externalDataPath)
    {
        Graph = new GraphProto { Name = graphName };
        if (externalDataPath is not null)
        {
            _externalData = new FileStream(externalDataPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
            _externalFileName = Path.GetFileName(externalDataPath);
        }
    }

    public GraphProto Graph { get; }

    public void Input(string name, TensorProto.Types.DataType type, params object[] dims) =>
        Graph.Input.Add(ValueInfo(name, type, dims));

    public void Output(string name, TensorProto.Types.DataType type, params object[] dims) =>
        Graph.Output.Add(ValueInfo(name, type, dims));

    /// <summary>Adds a node with one output, named after the node, and returns that output.</summary>
    public string Node(string opType, IReadOnlyList<string> inputs, string name, params AttributeProto[] attributes) =>
        Node(opType, inputs, name, 1, "", attributes)[0];

    /// <summary>Adds a node and returns its outputs, named "{name}/output_{i}".</summary>
    public string[] Node(string opType, IReadOnlyList<string> inputs, string name, int outputs, string domain, params AttributeProto[] attributes)
    {
        name = UniqueNodeName(name);
        var node = new NodeProto { OpType = opType, Name = name, Domain = domain };
        node.Input.AddRange(inputs);
        var outputNames = new string[outputs];
        for (int i = 0; i < outputs; i++)
        {
            outputNames[i] = $"{name}/output_{i}";
        }

        node.Output.AddRange(outputNames);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return outputNames;
    }

    /// <summary>Adds a node whose outputs have the given names (graph outputs).</summary>
    public void NodeWithOutputs(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, string name, string domain, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = UniqueNodeName(name), Domain = domain };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
    }

    public string Initializer(string name, ReadOnlySpan<float> values, params long[] dims) =>
        Initializer(name, MemoryMarshal.AsBytes(values), TensorProto.Types.DataType.Float, dims);

    public string Initializer(string name, ReadOnlySpan<long> values, params long[] dims) =>
        Initializer(name, MemoryMarshal.AsBytes(values), TensorProto.Types.DataType.Int64, dims);

    public string Initializer(string name, ReadOnlySpan<byte> raw, TensorProto.Types.DataType type, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type };
        tensor.Dims.AddRange(dims);
        if (_externalData is not null && raw.Length >= ExternalThresholdBytes)
        {
            long offset = AlignExternalData();
            _externalData.Write(raw);
            tensor.DataLocation = TensorProto.Types.DataLocation.External;
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = _externalFileName });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = raw.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }
        else
        {
            tensor.RawData = ByteString.CopyFrom(raw);
        }

        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>A one-dimensional int64 constant.</summary>
    public string Int64Constant(string name, params long[] values) => Initializer(name, values, values.Length);

    /// <summary>A scalar int64 constant.</summary>
    public string Int64Scalar(string name, long value) => Initializer(name, [value]);

    public void Dispose() => _externalData?.Dispose();

    public static AttributeProto Attribute(string name, long value) =>
        new() { Name = name, I = value, Type = AttributeProto.Types.AttributeType.Int };

    public static AttributeProto Attribute(string name, float value) =>
        new() { Name = name, F = value, Type = AttributeProto.Types.AttributeType.Float };

    private long AlignExternalData()
    {
        long padding = (ExternalAlignment - _externalData!.Position % ExternalAlignment) % ExternalAlignment;
        if (padding > 0)
        {
            _externalData.Write(new byte[padding]);
        }

        return _externalData.Position;
    }

    private string UniqueNodeName(string name)
    {
        int count = _nodeNames.GetValueOrDefault(name);
        _nodeNames[name] = count + 1;
        return count == 0 ? name : $"{name}_{count}";
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (object dim in dims)
        {
            shape.Dim.Add(dim switch
            {
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                int size => new TensorShapeProto.Types.Dimension { DimValue = size },
                long size => new TensorShapeProto.Types.Dimension { DimValue = size },
                _ => throw new ArgumentException($"dimension {dim} is neither a size nor a symbol", nameof(dims)),
            });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}
