using System.Runtime.InteropServices;
using Google.Protobuf;

namespace ServerlessInference.Engine.Onnx;

/// <summary>The few ONNX protobuf pieces the graph rewrites build: initializers and integer attributes.</summary>
internal static class OnnxTensors
{
    public static TensorProto Floats(string name, float[] data, params long[] dims) => new()
    {
        Name = name,
        DataType = (int)TensorProto.Types.DataType.Float,
        Dims = { dims },
        RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan())),
    };

    public static TensorProto Bytes(string name, TensorProto.Types.DataType type, byte[] data, params long[] dims) => new()
    {
        Name = name,
        DataType = (int)type,
        Dims = { dims },
        RawData = ByteString.CopyFrom(data),
    };

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };
}
