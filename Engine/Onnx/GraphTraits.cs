using Google.Protobuf;

namespace ServerlessInference.Engine.Onnx;

/// <summary>
/// What an ONNX graph's operators say about how it runs, read from the file's structure (its weights are not loaded):
/// the operator types of the graph and of its subgraphs (the merged decoder's If branches), and whether it holds
/// float16 tensors.
/// </summary>
/// <param name="Float16WeightMatMuls">MatMul / Gemm nodes whose weight is a stored float16 tensor.</param>
internal sealed record GraphTraits(IReadOnlySet<string> Operators, bool HasFloat16, int Float16WeightMatMuls = 0)
{
    /// <summary>
    /// Operators that quantize an activation with one scale and zero point computed from the whole tensor at run time
    /// (ONNX Runtime's quantize_dynamic writes DynamicQuantizeLinear before each MatMulInteger, and its optimiser may
    /// fuse the pair into DynamicQuantizeMatMul). A batch is one tensor, so every row's rounding depends on the
    /// largest value of any row: a sentence's output then depends on its batch-mates.
    /// </summary>
    public static readonly IReadOnlyList<string> PerTensorDynamicOperators =
        ["DynamicQuantizeLinear", "DynamicQuantizeMatMul", "DynamicQuantizeLSTM"];

    /// <summary>Each row of a batch is computed from its own values only: nothing takes one scale over the batch, and
    /// no float16 MatMul over a stored weight (ONNX Runtime's CPU kernels round such a product differently for a single
    /// row than for several: the float16 variant of the shipped model gave one of 100 dev sentences different ids alone
    /// than in any batch of two or more, even beside a copy of itself). MatMulNBits' accuracy_level 4 quantizes
    /// activations too, but per row and block; MatMulNBits and MatMulBnb4 in float16 graphs measured invariant.
    /// Not detected: 8-bit MatMulNBits with accuracy_level 4 measured invariant with the layers' weights in blocks of 32
    /// (what tools/Quantize writes), but not in blocks of 16, 64, 128 or 256 (1 to 11 of 500 dev sentences changed in
    /// batches of 32; bench/results/q8-batch-invariant-2026-12-02.md).</summary>
    public bool BatchInvariant => !BatchDependence.Any();

    /// <summary>Why a sentence's output depends on its batch-mates, one phrase per cause (empty: batch-invariant).</summary>
    public IEnumerable<string> BatchDependence
    {
        get
        {
            var dynamic = PerTensorDynamicOperators.Where(Operators.Contains).ToList();
            if (dynamic.Count > 0)
            {
                yield return $"activations quantized with one scale per batch ({string.Join(", ", dynamic)})";
            }

            if (Float16WeightMatMuls > 0)
            {
                yield return $"{Float16WeightMatMuls} float16 MatMuls over stored weights (a single row rounds differently)";
            }
        }
    }

    /// <exception cref="InvalidDataException">The file is not an ONNX model.</exception>
    public static GraphTraits Read(string path) => Parse(path, () => ExternalWeights.ReadSkeleton(path));

    /// <summary>The traits of a model already read into memory (a rewritten decoder's skeleton), so that its file is
    /// not scanned a second time.</summary>
    /// <param name="path">The file it came from, for the message.</param>
    /// <exception cref="InvalidDataException">The bytes are not an ONNX model.</exception>
    public static GraphTraits Read(string path, byte[] model) => Parse(path, () => model);

    private static GraphTraits Parse(string path, Func<byte[]> read)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(read());
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidDataException)
        {
            throw new InvalidDataException($"{Path.GetFileName(path)} is not an ONNX model: {e.Message}", e);
        }

        var operators = new HashSet<string>(StringComparer.Ordinal);
        bool float16 = false;
        int float16MatMuls = 0;
        Visit(model.Graph, new HashSet<string>(StringComparer.Ordinal));
        return new GraphTraits(operators, float16, float16MatMuls);

        // A subgraph reads the enclosing graphs' initializers by name.
        void Visit(GraphProto graph, HashSet<string> outerHalves)
        {
            var halves = new HashSet<string>(outerHalves, StringComparer.Ordinal);
            foreach (var t in graph.Initializer.Where(t => t.DataType == (int)TensorProto.Types.DataType.Float16))
            {
                halves.Add(t.Name);
                float16 = true;
            }

            foreach (var node in graph.Node)
            {
                operators.Add(node.OpType);
                if (node.OpType is "MatMul" or "Gemm" && node.Domain is "" or "ai.onnx" && node.Input.Count > 1
                    && halves.Contains(node.Input[1]))
                {
                    float16MatMuls++;
                }

                foreach (var sub in GraphWalk.Subgraphs(node))
                {
                    Visit(sub, halves);
                }
            }
        }
    }
}
