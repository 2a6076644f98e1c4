using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using ServerlessInference.Engine.Onnx;

namespace ServerlessInference.ModelTools.Tests;

/// <summary>The quantisations transformers.js' scripts/quantize.py applies (through ONNX Runtime's quantizers), on tiny
/// graphs run by ONNX Runtime against the float computation over the values the quantized tensors stand for.</summary>
public sealed class TransformersJsRecipeTests
{
    private const int K = 64;
    private const int N = 48;
    private const int Rows = 3;

    private static float[] Random(int count, int seed, float range)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1) * range).ToArray();
    }

    // Columns of very different ranges, so that one scale per column differs from one per tensor.
    private static readonly float[] Weights = Random(K * N, seed: 1, range: 0.2f).Select((w, i) => w * (1 + i % N)).ToArray();
    private static readonly float[] Input = Random(Rows * K, seed: 2, range: 1.5f);

    private static ModelProto MatMulModel() => new()
    {
        IrVersion = 8,
        OpsetImport = { new OperatorSetIdProto { Domain = "", Version = 14 } },
        Graph = new GraphProto
        {
            Name = "g",
            Initializer = { OnnxTensors.Floats("w", Weights, K, N) },
            Node = { new NodeProto { OpType = "MatMul", Name = "mm", Input = { "x", "w" }, Output = { "y" } } },
            Input = { Value("x", TensorProto.Types.DataType.Float, Rows, K) },
            Output = { Value("y", TensorProto.Types.DataType.Float, Rows, N) },
        },
    };

    private static ValueInfoProto Value(string name, TensorProto.Types.DataType type, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    private static float[] Run(ModelProto model, OrtValue x, string input = "x")
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(model.ToByteArray(), options);
        using var outputs = session.Run(new RunOptions(), [input], [x], ["y"]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static float[] MatMul(float[] x, float[] w) => QuantizedGraphReference.MatMul(x, w, Rows, K, N);

    private static TensorProto Tensor(ModelProto model, string suffix) => QuantizedGraphReference.Tensor(model, suffix);

    private static float[] Floats(TensorProto t) => QuantizedGraphReference.Floats(t);

    [Fact]
    public void XenovaQ8QuantizesEachColumnSymmetricallyToSevenBitsAndRunsTheIntegerMatMul()
    {
        var model = MatMulModel();
        ModelQuantizer.Quantize(model, QuantizationSettings.TransformersJs("q8")!);
        Assert.Contains(model.Graph.Node, n => n.OpType == "DynamicQuantizeLinear");
        Assert.Contains(model.Graph.Node, n => n.OpType == "MatMulInteger");

        var levels = Tensor(model, "_quantized");
        var scales = Floats(Tensor(model, "_scale"));
        var zeroPoints = Tensor(model, "_zero_point");
        Assert.Equal((int)TensorProto.Types.DataType.Int8, levels.DataType);
        Assert.Equal([N], Tensor(model, "_scale").Dims);
        Assert.All(zeroPoints.RawData, z => Assert.Equal(0, z));
        var signed = levels.RawData.Select(b => (int)(sbyte)b).ToArray();
        // reduce_range: [−64, 64], and every column reaches its end of the range.
        Assert.All(signed, q => Assert.InRange(q, -64, 64));
        for (int c = 0; c < N; c++)
        {
            Assert.Equal(64, Enumerable.Range(0, K).Max(k => Math.Abs(signed[k * N + c])));
        }

        Assert.True(scales.Distinct().Count() > N / 2, "one scale per column");
        var weights = new float[K * N];
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] = signed[i] * scales[i % N];
        }

        // DynamicQuantizeLinear: uint8 over [min(x, 0), max(x, 0)], round half to even.
        float lo = Math.Min(0, Input.Min());
        float hi = Math.Max(0, Input.Max());
        float xScale = (hi - lo) / 255f;
        float xZero = Math.Clamp(MathF.Round(-lo / xScale, MidpointRounding.ToEven), 0, 255);
        var x = Input.Select(v => (Math.Clamp(MathF.Round(v / xScale, MidpointRounding.ToEven) + xZero, 0, 255) - xZero) * xScale)
            .ToArray();
        var expected = MatMul(x, weights);
        using var input = OrtValue.CreateTensorValueFromMemory(Input, [Rows, K]);
        var actual = Run(model, input);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 1e-4f);
        }
    }

    [Theory]
    [InlineData("q8", true)]
    [InlineData("int8", true)]
    [InlineData("uint8", false)]
    public void EmbeddingGatherReadsAnEightBitCopyThroughDequantizeLinear(string dtype, bool signed)
    {
        var type = signed ? TensorProto.Types.DataType.Int8 : TensorProto.Types.DataType.Uint8;
        const int vocab = 20;
        const int width = 8;
        var table = Random(vocab * width, seed: 4, range: 0.7f);
        var model = new ModelProto
        {
            IrVersion = 8,
            OpsetImport = { new OperatorSetIdProto { Domain = "", Version = 14 } },
            Graph = new GraphProto
            {
                Name = "g",
                Initializer = { OnnxTensors.Floats("table", table, vocab, width) },
                Node = { new NodeProto { OpType = "Gather", Name = "embed", Input = { "table", "ids" }, Output = { "y" } } },
                Input = { Value("ids", TensorProto.Types.DataType.Int64, 1, 3) },
                Output = { Value("y", TensorProto.Types.DataType.Float, 1, 3, width) },
            },
        };

        var report = ModelQuantizer.Quantize(model, QuantizationSettings.TransformersJs(dtype)!);
        Assert.Equal(1, report.GathersQuantized);
        Assert.Equal(["Gather", "DequantizeLinear"], model.Graph.Node.Select(n => n.OpType));
        Assert.DoesNotContain(model.Graph.Initializer, t => t.Name == "table");
        var levels = Tensor(model, "_quantized");
        Assert.Equal((int)type, levels.DataType);
        var dequantized = WeightQuantizer.DequantizePerTensor(levels.RawData.Span, Floats(Tensor(model, "_scale"))[0],
            Tensor(model, "_zero_point").RawData[0], signed);

        long[] ids = [3, 0, 19];
        using var input = OrtValue.CreateTensorValueFromMemory(ids, [1, 3]);
        var actual = Run(model, input, "ids");
        var expected = ids.SelectMany(id => dequantized.Skip((int)id * width).Take(width)).ToArray();
        Assert.Equal(expected, actual);
        Assert.Contains(expected.Zip(ids.SelectMany(id => table.Skip((int)id * width).Take(width))), p => p.First != p.Second);
    }

    [Theory]
    [InlineData(WeightQuantizer.Nf4)]
    [InlineData(WeightQuantizer.Fp4)]
    public void Bnb4RunsTheFloatMatMulOfTheDequantizedCodes(int quantType)
    {
        var model = MatMulModel();
        ModelQuantizer.Quantize(model, QuantizationSettings.TransformersJs("bnb4")! with { Bnb4Type = quantType });
        var node = Assert.Single(model.Graph.Node);
        Assert.Equal("MatMulBnb4", node.OpType);
        Assert.Equal(quantType, node.Attribute.Single(a => a.Name == "quant_type").I);
        Assert.Equal(64, node.Attribute.Single(a => a.Name == "block_size").I);

        var weights = WeightQuantizer.DequantizeBnb4(Tensor(model, "_Bnb4").RawData.Span, Floats(Tensor(model, "_absmax")),
            K, N, 64, quantType);
        var expected = MatMul(Input, weights);
        using var input = OrtValue.CreateTensorValueFromMemory(Input, [Rows, K]);
        var actual = Run(model, input);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 1e-3f);
        }

        Assert.Contains(MatMul(Input, Weights).Zip(expected), p => MathF.Abs(p.First - p.Second) > 1e-3f);
    }

    [Fact]
    public void Nf4CodeIsTheNearestCodeValue()
    {
        var values = WeightQuantizer.Nf4Values;
        for (float x = -1f; x <= 1f; x += 0.001f)
        {
            int nearest = Enumerable.Range(0, 16).MinBy(c => MathF.Abs(values[c] - x));
            Assert.Equal(nearest, WeightQuantizer.Bnb4Code(x, WeightQuantizer.Nf4));
        }
    }
}
