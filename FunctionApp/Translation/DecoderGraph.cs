using System.Runtime.InteropServices;
using Google.Protobuf;
using ServerlessInference.Translation.Onnx;

namespace ServerlessInference.Translation;

/// <summary>
/// Splits the output projection (lm_head MatMul + final_logits_bias Add) off an Optimum decoder graph, so the
/// decoder session returns the last hidden state and the engine decides how to score the vocabulary (see
/// <see cref="OutputProjection"/>). Works on the plain decoders and on the merged decoder's If branches; a graph that
/// does not end in that pattern is left alone and the engine reads full logits from it as before.
/// </summary>
internal static class DecoderGraph
{
    public const string HiddenOutput = "decoder_hidden_state";

    /// <summary>
    /// Reads <paramref name="path"/>; when its logits are hidden · W + b with W and b stored in the file, returns the
    /// graph rewritten to output the hidden state instead (under <see cref="HiddenOutput"/>) and the weights.
    /// Null when the pattern is not there, or the weights live in external data files.
    /// </summary>
    public static (byte[] Model, ProjectionWeights Weights)? TrySplitOutputProjection(string path, int vocab, int hidden)
    {
        try
        {
            return Split(path, vocab, hidden);
        }
        catch (Exception e) when (e is NotSupportedException or InvalidProtocolBufferException)
        {
            // Weights in external data or not float32, or not a model at all (ONNX Runtime then says why when it
            // loads the file): the graph is used as it is.
            return null;
        }
    }

    private static (byte[] Model, ProjectionWeights Weights)? Split(string path, int vocab, int hidden)
    {
        ModelProto model;
        using (var file = File.OpenRead(path))
        {
            model = ModelProto.Parser.ParseFrom(file);
        }

        var graph = model.Graph;
        int logits = IndexOfOutput(graph, "logits");
        if (logits < 0)
        {
            return null;
        }

        var initializers = graph.Initializer.ToDictionary(t => t.Name);
        var producer = graph.Node.FirstOrDefault(n => n.Output.Contains("logits"));
        ProjectionTensors? tensors;
        if (producer?.OpType == "If")
        {
            // Merged decoder: both branches end in the projection, normally over the same outer-scope initializers
            // (then the comparison is by reference); the weights are read once.
            int position = producer.Output.IndexOf("logits");
            var branches = producer.Attribute.Where(a => a.G is not null).Select(a => a.G).ToList();
            tensors = null;
            foreach (var branch in branches)
            {
                var found = SplitGraph(branch, branch.Output[position].Name, initializers, vocab, hidden);
                if (found is null || (tensors is not null && !tensors.Equals(found)))
                {
                    return null;
                }

                tensors ??= found;
            }

            if (tensors is null)
            {
                return null;
            }

            producer.Output[position] = HiddenOutput;
        }
        else
        {
            tensors = SplitGraph(graph, "logits", initializers, vocab, hidden);
            if (tensors is null)
            {
                return null;
            }

            foreach (var node in graph.Node)
            {
                for (int i = 0; i < node.Output.Count; i++)
                {
                    if (node.Output[i] == "logits")
                    {
                        node.Output[i] = HiddenOutput;
                    }
                }
            }
        }

        var output = graph.Output[logits];
        output.Name = HiddenOutput;
        if (output.Type?.TensorType?.Shape is { Dim.Count: 3 } shape)
        {
            shape.Dim[2] = new TensorShapeProto.Types.Dimension { DimValue = hidden };
        }

        var weights = new ProjectionWeights(
            tensors.Folded ? Transposed(ReadFloats(tensors.Weights), hidden, vocab) : ReadFloats(tensors.Weights),
            tensors.Bias is null ? new float[vocab] : ReadFloats(tensors.Bias), vocab, hidden);
        RemoveUnused(graph);
        return (model.ToByteArray(), weights);
    }

    /// <summary>The projection's initializers: W as [vocab, hidden], or already transposed ("folded") as
    /// [hidden, vocab]; the bias when there is one.</summary>
    private sealed record ProjectionTensors(TensorProto Weights, bool Folded, TensorProto? Bias);

    private static int IndexOfOutput(GraphProto graph, string name)
    {
        for (int i = 0; i < graph.Output.Count; i++)
        {
            if (graph.Output[i].Name == name)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// In <paramref name="graph"/>, finds output = MatMul(h, B) [+ Add(bias)] with B = Transpose(W[vocab, hidden]) or
    /// B = W[hidden, vocab], and replaces those nodes by output = Identity(h). Initializers are looked up in the graph
    /// and then in <paramref name="outer"/> (a subgraph sees its parent's initializers).
    /// </summary>
    private static ProjectionTensors? SplitGraph(GraphProto graph, string output,
        Dictionary<string, TensorProto> outer, int vocab, int hidden)
    {
        var local = graph.Initializer.ToDictionary(t => t.Name);
        TensorProto? Initializer(string name) => local.GetValueOrDefault(name) ?? outer.GetValueOrDefault(name);
        NodeProto? Producer(string name) => graph.Node.FirstOrDefault(n => n.Output.Contains(name));

        var last = Producer(output);
        TensorProto? bias = null;
        NodeProto? add = null;
        if (last?.OpType == "Add" && last.Input.Count == 2)
        {
            int biasInput = Initializer(last.Input[1]) is not null ? 1 : 0;
            var biasTensor = Initializer(last.Input[biasInput]);
            if (biasTensor is null || biasTensor.Dims.Aggregate(1L, (a, b) => a * b) != vocab)
            {
                return null;
            }

            bias = biasTensor;
            add = last;
            last = Producer(last.Input[1 - biasInput]);
        }

        if (last?.OpType != "MatMul")
        {
            return null;
        }

        var matMul = last;
        ProjectionTensors? found = null;
        NodeProto? transpose = null;
        if (Initializer(matMul.Input[1]) is { } folded && folded.Dims.SequenceEqual([hidden, vocab]))
        {
            found = new ProjectionTensors(folded, Folded: true, bias);
        }
        else if (Producer(matMul.Input[1]) is { OpType: "Transpose" } t
            && Initializer(t.Input[0]) is { } tied && tied.Dims.SequenceEqual([vocab, hidden])
            && t.Attribute.All(a => a.Name != "perm" || a.Ints.SequenceEqual([1L, 0L])))
        {
            found = new ProjectionTensors(tied, Folded: false, bias);
            transpose = t;
        }

        if (found is null)
        {
            return null;
        }

        graph.Node.Remove(matMul);
        if (add is not null)
        {
            graph.Node.Remove(add);
        }

        if (transpose is not null && !graph.Node.Any(n => n.Input.Contains(transpose.Output[0])))
        {
            graph.Node.Remove(transpose);
        }

        graph.Node.Add(new NodeProto
        {
            OpType = "Identity",
            Name = output + "/hidden_state",
            Input = { matMul.Input[0] },
            Output = { output },
        });
        return found;
    }

    /// <summary>Drops initializers no node uses any more (the bias; a folded projection matrix), which ONNX Runtime
    /// would otherwise keep in memory and warn about.</summary>
    private static void RemoveUnused(GraphProto graph)
    {
        var used = new HashSet<string>();
        void Collect(GraphProto g)
        {
            foreach (var node in g.Node)
            {
                used.UnionWith(node.Input);
                foreach (var a in node.Attribute)
                {
                    if (a.G is not null)
                    {
                        Collect(a.G);
                    }

                    foreach (var sub in a.Graphs)
                    {
                        Collect(sub);
                    }
                }
            }

            used.UnionWith(g.Output.Select(o => o.Name));
        }

        Collect(graph);
        foreach (var unused in graph.Initializer.Where(t => !used.Contains(t.Name)).ToList())
        {
            graph.Initializer.Remove(unused);
        }
    }

    private static float[] ReadFloats(TensorProto tensor)
    {
        if (tensor.DataType != (int)TensorProto.Types.DataType.Float
            || tensor.DataLocation == TensorProto.Types.DataLocation.External)
        {
            throw new NotSupportedException("only float tensors stored in the model file");
        }

        if (tensor.FloatData.Count > 0)
        {
            return [.. tensor.FloatData];
        }

        if (!BitConverter.IsLittleEndian)
        {
            throw new NotSupportedException("big-endian host");
        }

        return MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray();
    }

    /// <summary>A row-major [rows, columns] matrix as row-major [columns, rows].</summary>
    internal static float[] Transposed(float[] source, int rows, int columns)
    {
        var result = new float[source.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                result[c * rows + r] = source[r * columns + c];
            }
        }

        return result;
    }
}
