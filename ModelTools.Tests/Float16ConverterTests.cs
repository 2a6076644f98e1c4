using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using ServerlessInference.Engine.Onnx;

namespace ServerlessInference.ModelTools.Tests;

/// <summary>A small graph converted by <see cref="Float16Converter"/> and run by ONNX Runtime against the float32
/// original.</summary>
public sealed class Float16ConverterTests
{
    private const int K = 16;
    private const int N = 8;

    private static float[] Random(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }

    private static TensorProto Floats(string name, float[] values, params long[] dims) => new()
    {
        Name = name,
        DataType = (int)TensorProto.Types.DataType.Float,
        Dims = { dims },
        RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())),
    };

    private static ValueInfoProto Value(string name, TensorProto.Types.DataType type, params long[] dims) => new()
    {
        Name = name,
        Type = new TypeProto
        {
            TensorType = new TypeProto.Types.Tensor
            {
                ElemType = (int)type,
                Shape = new TensorShapeProto { Dim = { dims.Select(d => new TensorShapeProto.Types.Dimension { DimValue = d }) } },
            },
        },
    };

    /// <summary>y = (x · W + b) + mask · float32.MinValue-like constant + float(flag), where mask is an int64 input:
    /// an initializer, a float Constant beyond float16's range, and a Cast to float, as a Marian export has them.</summary>
    private static ModelProto Model() => new()
    {
        IrVersion = 8,
        OpsetImport = { new OperatorSetIdProto { Domain = "", Version = 17 } },
        Graph = new GraphProto
        {
            Name = "g",
            Initializer = { Floats("W", Random(K * N, 1), K, N), Floats("b", Random(N, 2), N) },
            Node =
            {
                new NodeProto { OpType = "MatMul", Input = { "x", "W" }, Output = { "xw" } },
                new NodeProto { OpType = "Add", Input = { "xw", "b" }, Output = { "z" } },
                new NodeProto
                {
                    OpType = "Constant", Output = { "minimum" },
                    Attribute =
                    {
                        new AttributeProto
                        {
                            Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = Floats("m", [-3.4028234663852886e38f]),
                        },
                    },
                },
                new NodeProto
                {
                    OpType = "Cast", Input = { "mask" }, Output = { "maskf" },
                    Attribute = { new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = 1 } },
                },
                new NodeProto { OpType = "Mul", Input = { "maskf", "minimum" }, Output = { "masked" } },
                new NodeProto { OpType = "Add", Input = { "z", "masked" }, Output = { "y" } },
            },
            Input = { Value("x", TensorProto.Types.DataType.Float, 1, K), Value("mask", TensorProto.Types.DataType.Int64, 1, N) },
            Output = { Value("y", TensorProto.Types.DataType.Float, 1, N) },
        },
    };

    private static float[] Run(ModelProto model, float[] x, long[] mask)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(model.ToByteArray(), options);
        using var xValue = OrtValue.CreateTensorValueFromMemory(x, [1, K]);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, [1, N]);
        using var outputs = session.Run(new RunOptions(), ["x", "mask"], [xValue, maskValue], ["y"]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    [Fact]
    public void ConvertedGraphTakesAndGivesFloat32AndComputesInFloat16()
    {
        var x = Random(K, 3);
        long[] mask = [0, 1, 0, 0, 1, 0, 0, 0];
        var expected = Run(Model(), x, mask);
        var model = Model();

        var report = Float16Converter.Convert(model);

        Assert.Equal(3, report.TensorsConverted);   // W, b and the Constant
        Assert.Equal(2, report.CastsAdded);         // x in, y out
        Assert.All(model.Graph.Initializer, t => Assert.Equal((int)TensorProto.Types.DataType.Float16, t.DataType));
        Assert.Equal((int)TensorProto.Types.DataType.Float, model.Graph.Input[0].Type.TensorType.ElemType);
        Assert.Equal((int)TensorProto.Types.DataType.Float, model.Graph.Output[0].Type.TensorType.ElemType);
        Assert.Equal(10, model.Graph.Node.Single(n => n.OpType == "Cast" && n.Input[0] == "mask").Attribute[0].I);

        var actual = Run(model, x, mask);
        for (int i = 0; i < N; i++)
        {
            if (mask[i] == 1)
            {
                // float32's minimum does not fit float16: clamped to its most negative finite value, not −∞.
                Assert.Equal(-65504f, actual[i], 64f);
            }
            else
            {
                Assert.Equal(expected[i], actual[i], 0.02f);
            }
        }

        // Not the float32 computation: float16 rounding shows in the unmasked sums.
        Assert.Contains(Enumerable.Range(0, N).Where(i => mask[i] == 0), i => expected[i] != actual[i]);
    }
}
