using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using ServerlessInference.Engine.Onnx;

namespace ServerlessInference.ModelTools.Tests;

/// <summary>Tiny graphs quantized by <see cref="ModelQuantizer"/> and run by ONNX Runtime, against the float MatMul
/// over the weights the quantized tensors stand for.</summary>
public sealed class ModelQuantizerTests
{
    private const int K = 64;
    private const int N = 48;
    private const int Rows = 3;

    private static float[] Random(int count, int seed, float range)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1) * range).ToArray();
    }

    private static readonly float[] Weights = Random(K * N, seed: 1, range: 0.2f); // [K, N]
    private static readonly float[] Input = Random(Rows * K, seed: 2, range: 1.5f);

    /// <summary>y = x · W, with W stored as [K, N], or stored as torch's [N, K] and transposed in the graph.</summary>
    private static ModelProto MatMulModel(bool transposedInGraph)
    {
        var stored = transposedInGraph ? Transpose(Weights, K, N) : Weights;
        var graph = new GraphProto
        {
            Name = "g",
            Initializer =
            {
                new TensorProto
                {
                    Name = "W", DataType = (int)TensorProto.Types.DataType.Float,
                    Dims = { transposedInGraph ? new long[] { N, K } : [K, N] },
                    RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(stored.AsSpan())),
                },
            },
            Input = { Value("x", K) },
            Output = { Value("y", N) },
        };
        if (transposedInGraph)
        {
            graph.Node.Add(new NodeProto { OpType = "Transpose", Input = { "W" }, Output = { "Wt" } });
        }

        graph.Node.Add(new NodeProto { OpType = "MatMul", Input = { "x", transposedInGraph ? "Wt" : "W" }, Output = { "y" } });
        return new ModelProto
        {
            IrVersion = 8,
            Graph = graph,
            OpsetImport = { new OperatorSetIdProto { Domain = "", Version = 17 } },
        };
    }

    private static ValueInfoProto Value(string name, long last) => new()
    {
        Name = name,
        Type = new TypeProto
        {
            TensorType = new TypeProto.Types.Tensor
            {
                ElemType = (int)TensorProto.Types.DataType.Float,
                Shape = new TensorShapeProto
                {
                    Dim =
                    {
                        new TensorShapeProto.Types.Dimension { DimParam = "rows" },
                        new TensorShapeProto.Types.Dimension { DimValue = last },
                    },
                },
            },
        },
    };

    private static float[] Transpose(float[] m, int rows, int columns)
    {
        var t = new float[m.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                t[c * rows + r] = m[r * columns + c];
            }
        }

        return t;
    }

    private static float[] Run(ModelProto model, float[] input)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(model.ToByteArray(), options);
        using var x = OrtValue.CreateTensorValueFromMemory(input, [Rows, K]);
        using var outputs = session.Run(new RunOptions(), ["x"], [x], ["y"]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static float[] MatMul(float[] x, float[] w) => QuantizedGraphReference.MatMul(x, w, Rows, K, N);

    private static TensorProto Tensor(ModelProto model, string suffix) => QuantizedGraphReference.Tensor(model, suffix);

    [Theory]
    [InlineData(WeightQuantization.Q4, false, 0)]
    [InlineData(WeightQuantization.Q4, true, 0)]
    [InlineData(WeightQuantization.Q8Blockwise, false, 0)]
    [InlineData(WeightQuantization.Q4, false, N)]
    [InlineData(WeightQuantization.Q4, true, N)]
    [InlineData(WeightQuantization.Q8Blockwise, true, N)]
    public void MatMulNBitsRunsTheFloatMatMulOfTheDequantizedWeights(WeightQuantization kind, bool transposedInGraph, int vocab)
    {
        // With the vocabulary set to the weight's width, the weight is the output projection and gets its own block.
        int blockSize = vocab == N ? 64 : 32;
        var model = MatMulModel(transposedInGraph);
        var report = ModelQuantizer.Quantize(model, new QuantizationSettings(kind) { Vocab = vocab, OutputProjectionBlockSize = 64 });
        Assert.Equal(1, report.MatMulsQuantized);
        var node = Assert.Single(model.Graph.Node);
        Assert.Equal("MatMulNBits", node.OpType);
        Assert.Equal(blockSize, node.Attribute.Single(a => a.Name == "block_size").I);
        Assert.DoesNotContain(model.Graph.Initializer, t => t.DataType == (int)TensorProto.Types.DataType.Float && t.Dims.Count == 2);

        int bits = kind == WeightQuantization.Q4 ? 4 : 8;
        var packed = Tensor(model, bits == 4 ? "_Q4" : "_Q8");
        var scales = QuantizedGraphReference.Floats(Tensor(model, "_scales"));
        var dequantized = WeightQuantizer.DequantizeBlockwise(packed.RawData.Span, scales, K, N, bits, blockSize);
        var expected = MatMul(Input, dequantized);
        var actual = Run(model, Input);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 1e-4f);
        }

        // Not a vacuous comparison: the float32 weights give measurably different products.
        Assert.Contains(MatMul(Input, Weights).Zip(expected), p => MathF.Abs(p.First - p.Second) > 1e-3f);
    }

    [Theory]
    [InlineData(WeightQuantization.Q8Blockwise)]
    [InlineData(WeightQuantization.Q4)]
    public void KeptOutputProjectionStaysAFloatMatMulWhileOtherWeightsAreQuantized(WeightQuantization kind)
    {
        var projection = MatMulModel(transposedInGraph: true);
        var projectionReport = ModelQuantizer.Quantize(projection,
            new QuantizationSettings(kind) { Vocab = N, KeepOutputProjection = true });
        Assert.Equal((0, 1), (projectionReport.MatMulsQuantized, projectionReport.MatMulsKept));
        Assert.Equal(["Transpose", "MatMul"], projection.Graph.Node.Select(n => n.OpType));
        foreach (var (expected, actual) in MatMul(Input, Weights).Zip(Run(projection, Input)))
        {
            Assert.Equal(expected, actual, 1e-5f);
        }

        // A weight of another width is no output projection: quantized as ever.
        var other = MatMulModel(transposedInGraph: false);
        var otherReport = ModelQuantizer.Quantize(other, new QuantizationSettings(kind) { Vocab = N + 1, KeepOutputProjection = true });
        Assert.Equal(1, otherReport.MatMulsQuantized);
        Assert.Equal("MatMulNBits", Assert.Single(other.Graph.Node).OpType);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(512)]
    public void BlockSizeOnnxRuntimeCannotTakeLeavesTheMatMulFloat(int blockSize)
    {
        // ONNX Runtime's MatMulNBits takes blocks of 16 to 256 (powers of two) only; K = 1024 divides both sizes, so
        // only that rule can refuse them. A file with such a block would fail to load.
        var model = MatMulModel(transposedInGraph: false);
        var weight = model.Graph.Initializer.Single();
        weight.Dims[0] = 1024;
        weight.Dims[1] = K * N / 1024;
        var report = ModelQuantizer.Quantize(model, new QuantizationSettings(WeightQuantization.Q8Blockwise, blockSize));
        Assert.Equal((0, 1), (report.MatMulsQuantized, report.MatMulsKept));
        Assert.Equal("MatMul", Assert.Single(model.Graph.Node).OpType);
    }

    [Theory]
    [InlineData(WeightQuantization.DynamicUInt8, false)]
    [InlineData(WeightQuantization.DynamicUInt8, true)]
    [InlineData(WeightQuantization.DynamicInt8, false)]
    public void DynamicQuantizationRunsTheIntegerMatMulOfQuantizedActivationsAndWeights(WeightQuantization kind, bool transposedInGraph)
    {
        var model = MatMulModel(transposedInGraph);
        ModelQuantizer.Quantize(model, new QuantizationSettings(kind));
        Assert.Contains(model.Graph.Node, n => n.OpType == "MatMulInteger");
        Assert.DoesNotContain(model.Graph.Node, n => n.OpType is "MatMul" or "Transpose");

        bool signed = kind == WeightQuantization.DynamicInt8;
        var levels = Tensor(model, "_quantized").RawData.ToByteArray();
        float scale = MemoryMarshal.Cast<byte, float>(Tensor(model, "_scale").RawData.Span)[0];
        byte zeroPoint = Tensor(model, "_zero_point").RawData[0];
        var weights = WeightQuantizer.DequantizePerTensor(levels, scale, zeroPoint, signed);

        // DynamicQuantizeLinear: uint8 over [min(x, 0), max(x, 0)], round half to even.
        float lo = Math.Min(0, Input.Min());
        float hi = Math.Max(0, Input.Max());
        float xScale = (hi - lo) / 255f;
        float xZero = Math.Clamp(MathF.Round(-lo / xScale, MidpointRounding.ToEven), 0, 255);
        var x = Input
            .Select(v => (Math.Clamp(MathF.Round(v / xScale, MidpointRounding.ToEven) + xZero, 0, 255) - xZero) * xScale)
            .ToArray();

        var expected = MatMul(x, weights);
        var actual = Run(model, Input);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 1e-4f);
        }
    }

    [Fact]
    public void WeightsSharedByTwoMatMulsInSubgraphsAreQuantizedOnceInTheOuterGraph()
    {
        var model = MatMulModel(transposedInGraph: false);
        var inner = model.Graph.Node[0];
        model.Graph.Node.Clear();
        GraphProto Branch(string name) => new()
        {
            Name = name,
            Node = { new NodeProto { OpType = "MatMul", Input = { "x", "W" }, Output = { name + "_y" } } },
            Output = { Value(name + "_y", N) },
        };
        model.Graph.Input.Add(new ValueInfoProto
        {
            Name = "flag",
            Type = new TypeProto
            {
                TensorType = new TypeProto.Types.Tensor
                {
                    ElemType = (int)TensorProto.Types.DataType.Bool,
                    Shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimValue = 1 } } },
                },
            },
        });
        model.Graph.Node.Add(new NodeProto
        {
            OpType = "If",
            Input = { "flag" },
            Output = { "y" },
            Attribute =
            {
                new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = Branch("then") },
                new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = Branch("else") },
            },
        });
        Assert.Equal("MatMul", inner.OpType);

        var report = ModelQuantizer.Quantize(model, new QuantizationSettings(WeightQuantization.Q4));

        Assert.Equal(2, report.MatMulsQuantized);
        Assert.Equal(["W_Q4", "W_scales"], model.Graph.Initializer.Select(t => t.Name).Order());
        Assert.All(model.Graph.Node[0].Attribute, a => Assert.Equal("MatMulNBits", Assert.Single(a.G.Node).OpType));
    }

    [Fact]
    public void MatMulOfTwoActivationsIsLeftAlone()
    {
        var model = MatMulModel(transposedInGraph: false);
        model.Graph.Node[0].Input[1] = "x2";
        model.Graph.Input.Add(Value("x2", N));
        var report = ModelQuantizer.Quantize(model, new QuantizationSettings(WeightQuantization.Q4));
        Assert.Equal((0, 1), (report.MatMulsQuantized, report.MatMulsKept));
        Assert.Equal("MatMul", Assert.Single(model.Graph.Node).OpType);
    }

    private static readonly float[] Bias = Random(N, seed: 3, range: 0.5f);

    /// <summary>y = x · W + b, the bias stored as Marian's final_logits_bias [1, N].</summary>
    private static ModelProto BiasedModel()
    {
        var model = MatMulModel(transposedInGraph: false);
        model.Graph.Node[0].Output[0] = "product";
        model.Graph.Node.Add(new NodeProto { OpType = "Add", Input = { "product", "b" }, Output = { "y" } });
        model.Graph.Initializer.Add(new TensorProto
        {
            Name = "b",
            DataType = (int)TensorProto.Types.DataType.Float,
            Dims = { 1, N },
            RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(Bias.AsSpan())),
        });
        return model;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void BiasAddAfterMatMulNBitsBecomesItsBiasInputWithTheSameSums(int accuracyLevel)
    {
        var separate = BiasedModel();
        ModelQuantizer.Quantize(separate, new QuantizationSettings(WeightQuantization.Q4, AccuracyLevel: accuracyLevel));
        var fused = BiasedModel();
        var report = ModelQuantizer.Quantize(fused,
            new QuantizationSettings(WeightQuantization.Q4, AccuracyLevel: accuracyLevel) { FuseBias = true });

        Assert.Equal(1, report.BiasesFused);
        Assert.Equal(["MatMulNBits", "Add"], separate.Graph.Node.Select(n => n.OpType));
        var node = Assert.Single(fused.Graph.Node);
        Assert.Equal("y", node.Output[0]);
        Assert.Equal(6, node.Input.Count);
        var vector = fused.Graph.Initializer.Single(t => t.Name == node.Input[5]);
        Assert.Equal([N], vector.Dims);
        Assert.DoesNotContain(fused.Graph.Initializer, t => t.Name == "b"); // the [1, N] original, read by nothing now

        var expected = Run(separate, Input);
        var actual = Run(fused, Input);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 1e-5f);
        }

        // The bias is really added: without it the products differ by it.
        Assert.Contains(Run(MatMulModelQuantized(accuracyLevel), Input).Zip(actual), p => MathF.Abs(p.First - p.Second) > 0.1f);
    }

    private static ModelProto MatMulModelQuantized(int accuracyLevel)
    {
        var model = MatMulModel(transposedInGraph: false);
        ModelQuantizer.Quantize(model, new QuantizationSettings(WeightQuantization.Q4, AccuracyLevel: accuracyLevel));
        return model;
    }

    [Fact]
    public void BiasReadThroughAnIdentityOfAnInitializerIsFusedAndTheIdentityDropped()
    {
        // torch's export stores equal tensors (e.g. biases still at their zero init) once, each reader via Identity.
        var model = BiasedModel();
        model.Graph.Initializer.Single(t => t.Name == "b").Name = "shared";
        model.Graph.Node.Insert(0, new NodeProto { OpType = "Identity", Input = { "shared" }, Output = { "b" } });
        var expected = Run(model, Input);

        var report = ModelQuantizer.Quantize(model, new QuantizationSettings(WeightQuantization.Q8Blockwise) { FuseBias = true });

        Assert.Equal(1, report.BiasesFused);
        Assert.Equal("MatMulNBits", Assert.Single(model.Graph.Node).OpType);
        var actual = Run(model, Input);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 0.05f); // 8-bit weights against the float32 model
        }
    }

    [Fact]
    public void BiasAddStaysWhenTheProductHasAnotherReader()
    {
        var model = BiasedModel();
        model.Graph.Node.Add(new NodeProto { OpType = "Relu", Input = { "product" }, Output = { "relu" } });
        model.Graph.Output.Add(Value("relu", N));
        var report = ModelQuantizer.Quantize(model, new QuantizationSettings(WeightQuantization.Q4) { FuseBias = true });
        Assert.Equal(0, report.BiasesFused);
        Assert.Equal(["MatMulNBits", "Add", "Relu"], model.Graph.Node.Select(n => n.OpType));
    }

    [Fact]
    public void DynamicQuantizationLeavesTheBiasAdd()
    {
        var model = BiasedModel();
        var report = ModelQuantizer.Quantize(model, new QuantizationSettings(WeightQuantization.DynamicUInt8) { FuseBias = true });
        Assert.Equal(0, report.BiasesFused);
        Assert.Equal("Add", model.Graph.Node[^1].OpType);
    }
}
