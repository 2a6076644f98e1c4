using Google.Protobuf;

namespace ServerlessInference.Engine.Onnx;

/// <summary>
/// What an ONNX graph's operators say about how it runs, read from the file's structure (its weights are not loaded):
/// the operator types of the graph and of its subgraphs (the merged decoder's If branches), and whether it holds
/// float16 tensors.
/// </summary>
internal sealed record GraphTraits(IReadOnlySet<string> Operators, bool HasFloat16)
{
    /// <summary>
    /// Operators that quantize an activation with one scale and zero point computed from the whole tensor at run time
    /// (ONNX Runtime's quantize_dynamic writes DynamicQuantizeLinear before each MatMulInteger, and its optimiser may
    /// fuse the pair into DynamicQuantizeMatMul). A batch is one tensor, so every row's rounding depends on the
    /// largest value of any row: a sentence's output then depends on its batch-mates.
    /// </summary>
    public static readonly IReadOnlyList<string> PerTensorDynamicOperators =
        ["DynamicQuantizeLinear", "DynamicQuantizeMatMul", "DynamicQuantizeLSTM"];

    /// <summary>Each row of a batch is computed from its own values only: nothing takes one scale over the batch.
    /// (MatMulNBits' accuracy_level 4 quantizes activations too, but per row and block.)</summary>
    public bool BatchInvariant => !PerTensorDynamicOperators.Any(Operators.Contains);

    /// <summary>The operators of <paramref name="path"/> that take a whole-batch scale (empty: batch-invariant).</summary>
    public IEnumerable<string> BatchDependentOperators => PerTensorDynamicOperators.Where(Operators.Contains);

    /// <exception cref="InvalidDataException">The file is not an ONNX model.</exception>
    public static GraphTraits Read(string path)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(ExternalWeights.ReadSkeleton(path));
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidDataException)
        {
            throw new InvalidDataException($"{Path.GetFileName(path)} is not an ONNX model: {e.Message}", e);
        }

        var operators = new HashSet<string>(StringComparer.Ordinal);
        bool float16 = false;
        Visit(model.Graph);
        return new GraphTraits(operators, float16);

        void Visit(GraphProto graph)
        {
            float16 |= graph.Initializer.Any(t => t.DataType == (int)TensorProto.Types.DataType.Float16);
            foreach (var node in graph.Node)
            {
                operators.Add(node.OpType);
                foreach (var sub in GraphWalk.Subgraphs(node))
                {
                    Visit(sub);
                }
            }
        }
    }
}
