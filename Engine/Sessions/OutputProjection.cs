using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using ServerlessInference.Engine.Kernels;
using ServerlessInference.Engine.Onnx;

namespace ServerlessInference.Engine.Sessions;

/// <summary>
/// The decoder's output projection (hidden state → vocabulary logits), run as its own small ONNX Runtime graphs.
/// <para>
/// At batch 1 a decoder step is bound by memory traffic, and the projection (vocab × hidden float32 weights) is a
/// large part of it (bench/results/engine-notes.md). Greedy search needs only the argmax, so it scores the
/// vocabulary with a 4-bit copy of the weights (MatMulNBits, an eighth of the bytes) and then makes the answer
/// exact: with ‖w − w̃‖ and ‖w̃‖ known per token, every approximate score is within a proven bound e_i of the float32
/// one, so only tokens whose upper bound reaches the best lower bound can be the argmax, and those few are scored in
/// float32.
/// Beam search needs every log-probability and uses the float32 graph.
/// </para>
/// </summary>
internal sealed class OutputProjection : IDisposable
{
    private const int BlockSize = BlockQuantizer.BlockSize;
    private readonly InferenceSession _exact;
    private readonly InferenceSession? _approximate;
    private readonly float[] _weights;      // [vocab, hidden]
    private readonly float[] _bias;
    private readonly float[] _errorNorm;    // ‖w_i − w̃_i‖ per token
    private readonly float[] _quantizedNorm; // ‖w̃_i‖ per token
    private readonly float[] _slack;        // float rounding allowance per token

    public int Vocab { get; }
    public int Hidden { get; }

    /// <summary>Whether greedy search can use the 4-bit scores (the runtime has MatMulNBits and the hidden size
    /// is a multiple of its block).</summary>
    public bool HasApproximate => _approximate is not null;

    public OutputProjection(ProjectionWeights projection, SessionOptions options, LoadTimings? timings = null)
    {
        timings ??= new LoadTimings();
        (_weights, _bias, Vocab, Hidden) = (projection.Weights, projection.Bias, projection.Vocab, projection.Hidden);
        _errorNorm = new float[Vocab];
        _quantizedNorm = new float[Vocab];
        _slack = new float[Vocab];
        // The 4-bit copy is made from the managed weights and the float32 session reads W from the model file: neither
        // waits for the other, so they are made at once (the options are only read by both).
        (_exact, _approximate) = ConcurrentLoad.Run(
            () => timings.Measure("projection float32 session", () => OnnxSessions.Create(ExactModel(projection.Source), options)),
            () => Hidden % BlockSize == 0 ? Approximate(options, timings) : null,
            OnnxSessions.Close, OnnxSessions.Close);
    }

    private InferenceSession? Approximate(SessionOptions options, LoadTimings timings)
    {
        try
        {
            var model = timings.Measure("projection 4-bit quantisation", ApproximateModel);
            return timings.Measure("projection 4-bit session", () => OnnxSessions.Create(model, options));
        }
        catch (OnnxRuntimeException)
        {
            // A runtime without the com.microsoft MatMulNBits kernel: greedy search reads float32 logits instead.
            return null;
        }
    }

    /// <summary>float32 logits [rows, 1, vocab] of the hidden states [rows, 1, hidden]; the caller owns them.</summary>
    public OrtValue Logits(OrtValue hidden, RunOptions run) =>
        _exact.Run(run, ["hidden"], [hidden], ["logits"])[0];

    /// <summary>Approximate scores [rows, 1, vocab] (4-bit weights, bias added); the caller owns them.</summary>
    public OrtValue ApproximateScores(OrtValue hidden, RunOptions run) =>
        _approximate!.Run(run, ["hidden"], [hidden], ["scores"])[0];

    /// <summary>
    /// The token with the largest float32 logit hidden · w_i + b_i among those not banned (lowest id on ties), from
    /// approximate scores of the same row. <paramref name="scores"/> is used as scratch.
    /// </summary>
    public int ArgMax(ReadOnlySpan<float> hidden, Span<float> scores, IReadOnlyList<int> banned)
    {
        foreach (var b in banned)
        {
            if ((uint)b < (uint)Vocab)
            {
                scores[b] = float.NegativeInfinity;
            }
        }

        var (a, c) = BoundCoefficients(hidden);
        if (!float.IsFinite(a) || !float.IsFinite(c))
        {
            return ExactArgMax(hidden, banned);
        }

        float lower = float.NegativeInfinity;
        int v = 0;
        ref float s = ref MemoryMarshal.GetReference(scores);
        var va = Vector256.Create(a);
        var vc = Vector256.Create(c);
        if (Vector256.IsHardwareAccelerated)
        {
            var best = Vector256.Create(float.NegativeInfinity);
            for (; v <= Vocab - Vector256<float>.Count; v += Vector256<float>.Count)
            {
                best = Vector256.Max(best, Vector256.LoadUnsafe(ref s, (nuint)v) - ErrorBounds(v, va, vc));
            }

            for (int lane = 0; lane < Vector256<float>.Count; lane++)
            {
                lower = MathF.Max(lower, best[lane]);
            }
        }

        for (; v < Vocab; v++)
        {
            lower = MathF.Max(lower, scores[v] - ErrorBound(v, a, c));
        }

        // Every token whose upper bound reaches the best lower bound may be the argmax: score those exactly.
        int bestId = -1;
        float bestLogit = float.NegativeInfinity;
        v = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vLower = Vector256.Create(lower);
            for (; v <= Vocab - Vector256<float>.Count; v += Vector256<float>.Count)
            {
                uint lanes = Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref s, (nuint)v) + ErrorBounds(v, va, vc), vLower)
                    .ExtractMostSignificantBits();
                while (lanes != 0)
                {
                    int token = v + System.Numerics.BitOperations.TrailingZeroCount(lanes);
                    lanes &= lanes - 1;
                    Consider(token, hidden, ref bestId, ref bestLogit);
                }
            }
        }

        for (; v < Vocab; v++)
        {
            if (scores[v] + ErrorBound(v, a, c) >= lower)
            {
                Consider(v, hidden, ref bestId, ref bestLogit);
            }
        }

        return bestId >= 0 ? bestId : ExactArgMax(hidden, banned);
    }

    /// <summary>
    /// The bound on |approximate score − float32 logit| of token i is a·‖w_i − w̃_i‖ + c·‖w̃_i‖ + slack_i, because
    /// |h·w − ĥ·w̃| ≤ ‖h‖·‖w − w̃‖ + ‖h − ĥ‖·‖w̃‖, where ĥ is the runtime's int8 copy of h: any symmetric or asymmetric
    /// int8 quantisation, per block or per row, errs by less than max|h|/127 per element, so ‖h − ĥ‖ ≤ √d·max|h|/127.
    /// c also covers float rounding in the runtime's sums (1e-4·‖h‖·‖w̃‖); both carry a 0.1% margin.
    /// </summary>
    internal (float A, float C) BoundCoefficients(ReadOnlySpan<float> hidden)
    {
        float norm = MathF.Sqrt(TensorPrimitives.Dot(hidden, hidden));
        float maxAbs = MathF.Abs(TensorPrimitives.MaxMagnitude(hidden));
        return (norm * 1.001f, (MathF.Sqrt(Hidden) * maxAbs / 127f + 1e-4f * norm) * 1.001f);
    }

    internal float ErrorBound(int token, float a, float c) => a * _errorNorm[token] + c * _quantizedNorm[token] + _slack[token];

    /// <summary><see cref="ErrorBound"/> of tokens v .. v+7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector256<float> ErrorBounds(int v, Vector256<float> a, Vector256<float> c) =>
        a * Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(_errorNorm), (nuint)v)
        + c * Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(_quantizedNorm), (nuint)v)
        + Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(_slack), (nuint)v);

    /// <summary>float32 logit of one token, as the exact path and the candidates are scored.</summary>
    public float Logit(ReadOnlySpan<float> hidden, int token) =>
        TensorPrimitives.Dot(hidden, _weights.AsSpan(token * Hidden, Hidden)) + _bias[token];

    private void Consider(int token, ReadOnlySpan<float> hidden, ref int bestId, ref float bestLogit)
    {
        float logit = Logit(hidden, token);
        if (logit > bestLogit || bestId < 0)
        {
            bestLogit = logit;
            bestId = token;
        }
    }

    private int ExactArgMax(ReadOnlySpan<float> hidden, IReadOnlyList<int> banned)
    {
        int bestId = -1;
        float bestLogit = float.NegativeInfinity;
        for (int v = 0; v < Vocab; v++)
        {
            if (!RowKernels.IsBanned(banned, v))
            {
                Consider(v, hidden, ref bestId, ref bestLogit);
            }
        }

        return Math.Max(bestId, 0);
    }

    /// <summary>logits = hidden · Wᵀ + b in float32. W comes from the model file when it came from one (the
    /// options must then carry its external data folder), else from <see cref="_weights"/>.</summary>
    private byte[] ExactModel(ProjectionSource? source)
    {
        var graph = new GraphProto
        {
            Name = "output_projection",
            Node =
            {
                new NodeProto { OpType = "MatMul", Input = { "hidden", "weight" }, Output = { "product" } },
                new NodeProto { OpType = "Add", Input = { "product", "bias" }, Output = { "logits" } },
            },
            Initializer = { OnnxTensors.Floats("bias", _bias, Vocab) },
            Input = { Value("hidden", "rows", "length", Hidden) },
            Output = { Value("logits", "rows", "length", Vocab) },
        };
        if (source is null)
        {
            graph.Initializer.Add(OnnxTensors.Floats("weight", DecoderGraph.Transposed(_weights, Vocab, Hidden), Hidden, Vocab));
        }
        else if (source.Folded)
        {
            var weight = source.Tensor.Clone();
            weight.Name = "weight";
            graph.Initializer.Add(weight);
        }
        else
        {
            // The decoder's own Transpose of the tied embedding: ONNX Runtime folds it at load, as it does in the
            // graph run as it is, so the product is computed from the same matrix.
            var tied = source.Tensor.Clone();
            tied.Name = "tied_weight";
            graph.Initializer.Add(tied);
            var transpose = new NodeProto { OpType = "Transpose", Input = { "tied_weight" }, Output = { "weight" } };
            transpose.Attribute.Add(new AttributeProto
            {
                Name = "perm",
                Type = AttributeProto.Types.AttributeType.Ints,
                Ints = { 1L, 0L },
            });
            graph.Node.Insert(0, transpose);
        }

        return Model(graph);
    }

    /// <summary>MatMulNBits with 4-bit weights in blocks of 32 (symmetric, zero point 8) and int8 activations
    /// (accuracy_level 4); records each token's quantisation error norm for the bound.</summary>
    private byte[] ApproximateModel()
    {
        int blocks = Hidden / BlockSize;
        var (packed, scales, errorNorm, quantizedNorm) = BlockQuantizer.Quantize(_weights, Vocab, Hidden);
        errorNorm.CopyTo(_errorNorm, 0);
        quantizedNorm.CopyTo(_quantizedNorm, 0);
        for (int v = 0; v < Vocab; v++)
        {
            _slack[v] = 1e-4f * Math.Abs(_bias[v]) + 1e-5f;
        }

        var graph = new GraphProto
        {
            Name = "output_projection_4bit",
            Node =
            {
                new NodeProto
                {
                    OpType = "MatMulNBits", Domain = "com.microsoft", Input = { "hidden", "weight", "scales" },
                    Output = { "product" },
                    Attribute =
                    {
                        OnnxTensors.Int("K", Hidden), OnnxTensors.Int("N", Vocab), OnnxTensors.Int("bits", 4),
                        OnnxTensors.Int("block_size", BlockSize), OnnxTensors.Int("accuracy_level", 4),
                    },
                },
                new NodeProto { OpType = "Add", Input = { "product", "bias" }, Output = { "scores" } },
            },
            Initializer =
            {
                new TensorProto
                {
                    Name = "weight", DataType = (int)TensorProto.Types.DataType.Uint8, Dims = { Vocab, blocks, BlockSize / 2 },
                    RawData = UnsafeByteOperations.UnsafeWrap(packed),
                },
                OnnxTensors.Floats("scales", scales, scales.Length),
                OnnxTensors.Floats("bias", _bias, Vocab),
            },
            Input = { Value("hidden", "rows", "length", Hidden) },
            Output = { Value("scores", "rows", "length", Vocab) },
        };
        return Model(graph, new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
    }

    private static byte[] Model(GraphProto graph, params OperatorSetIdProto[] extra) => new ModelProto
    {
        IrVersion = 8,
        ProducerName = "ServerlessInference",
        Graph = graph,
        OpsetImport = { new OperatorSetIdProto { Domain = "", Version = 17 }, extra },
    }.ToByteArray();

    private static ValueInfoProto Value(string name, string rows, string length, long last) => new()
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
                        new TensorShapeProto.Types.Dimension { DimParam = rows },
                        new TensorShapeProto.Types.Dimension { DimParam = length },
                        new TensorShapeProto.Types.Dimension { DimValue = last },
                    },
                },
            },
        },
    };

    public void Dispose()
    {
        OnnxSessions.Close(_exact);
        OnnxSessions.Close(_approximate);
    }
}
