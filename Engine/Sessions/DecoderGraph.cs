using Google.Protobuf;
using ServerlessInference.Engine.Onnx;

namespace ServerlessInference.Engine.Sessions;

/// <summary>
/// Splits the output projection (lm_head MatMul + final_logits_bias Add) off an Optimum decoder graph, so the
/// decoder session returns the last hidden state and the engine decides how to score the vocabulary (see
/// <see cref="OutputProjection"/>). Works on the plain decoders and on the merged decoder's If branches; a graph that
/// does not end in that pattern is left alone and the engine reads full logits from it as before.
/// </summary>
internal static class DecoderGraph
{
    public const string HiddenOutput = "decoder_hidden_state";

    /// <summary>The session config entry that lets a model read from bytes find its external data.</summary>
    public const string ExternalDataFolderKey = "session.model_external_initializers_file_folder_path";

    /// <summary>
    /// Reads <paramref name="path"/>; when its logits are hidden · W + b with W and b stored in the file, returns the
    /// graph rewritten to output the hidden state instead (under <see cref="HiddenOutput"/>) and the weights.
    /// Null when the pattern is not there or the projection is not float32.
    /// <para>The rewritten graph keeps its large weights in the original file as external data (see
    /// <see cref="ExternalWeights"/>): its session must be created with <see cref="ExternalDataFolderKey"/> set to
    /// <see cref="SplitDecoder.Folder"/>.</para>
    /// </summary>
    public static SplitDecoder? TrySplitOutputProjection(string path, int vocab, int hidden) =>
        TryRewrite(path, vocab, hidden, splitProjection: true, rowPositionLayers: 0) is { Weights: { } weights } rewrite
            ? new SplitDecoder(rewrite.Model, weights, rewrite.Folder)
            : null;

    /// <summary>
    /// Reads the decoder graph at <paramref name="path"/> once and applies the rewrites asked for that its shape
    /// allows: the output projection split off (<paramref name="splitProjection"/>, see
    /// <see cref="TrySplitOutputProjection"/>) and per-row positions (<paramref name="rowPositionLayers"/> &gt; 0 decoder
    /// layers, see <see cref="DecoderRowPositions"/>). Null when neither applies: the file is then used as it is.
    /// Like the split graph, the result keeps its large weights in the original file (<see cref="ExternalDataFolderKey"/>).
    /// </summary>
    public static DecoderRewrite? TryRewrite(string path, int vocab, int hidden, bool splitProjection, int rowPositionLayers)
    {
        try
        {
            return Rewrite(path, vocab, hidden, splitProjection, rowPositionLayers);
        }
        catch (Exception e) when (e is NotSupportedException or InvalidProtocolBufferException or InvalidDataException)
        {
            // Projection not float32, its external data unreadable, or not a model at all (ONNX Runtime then says
            // why when it loads the file): the graph is used as it is.
            return null;
        }
    }

    private static DecoderRewrite? Rewrite(string path, int vocab, int hidden, bool splitProjection, int rowPositionLayers)
    {
        // The rewritten graph names this file as its external data, and ONNX Runtime refuses external data whose real
        // path leaves the folder it is given: a symbolic link (a Hugging Face cache snapshot links every file to
        // ../../blobs/<hash>) would. Its target is the file that holds the weights, so that is what the graph names.
        path = File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? path;
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var model = ModelProto.Parser.ParseFrom(ExternalWeights.ReadSkeleton(path));
        ProjectionWeights? weights = null;
        if (splitProjection)
        {
            // The split edits the graph as it goes and may still give up: it works on a copy.
            var candidate = model.Clone();
            weights = Split(candidate, folder, vocab, hidden);
            if (weights is not null)
            {
                model = candidate;
            }
        }

        bool rowPositions = rowPositionLayers > 0 && DecoderRowPositions.TryRewrite(model, rowPositionLayers);
        bool dropped = (splitProjection || rowPositionLayers > 0)
            && model.Graph.Node.FirstOrDefault(n => n.OpType == "If") is { } ifNode && DropPassthroughCopies(model.Graph, ifNode);
        return weights is null && !rowPositions && !dropped
            ? null
            : new DecoderRewrite(model.ToByteArray(), weights, folder, rowPositions);
    }

    private static ProjectionWeights? Split(ModelProto model, string folder, int vocab, int hidden)
    {
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
            var branches = GraphWalk.Subgraphs(producer).ToList();
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
            HoistWeightTransposes(graph, producer, initializers);
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

        var weights = new ProjectionWeights(ReadWeights(tensors, folder, vocab, hidden),
            tensors.Bias is null ? new float[vocab] : ExternalWeights.ReadFloats(tensors.Bias, folder), vocab, hidden)
        {
            Source = new ProjectionSource(tensors.Weights.Clone(), tensors.Folded, folder),
        };
        GraphPruning.RemoveUnusedInitializers(graph);
        return weights;
    }

    /// <summary>W as [vocab, hidden]. A folded W is stored as [hidden, vocab]: it is read a band of rows at a time
    /// and transposed into place, so that no second full-size copy exists.</summary>
    private static float[] ReadWeights(ProjectionTensors tensors, string folder, int vocab, int hidden)
    {
        if (!tensors.Folded)
        {
            return ExternalWeights.ReadFloats(tensors.Weights, folder);
        }

        var result = new float[checked(vocab * hidden)];
        const int band = 32;
        var buffer = new float[band * vocab];
        for (int row = 0; row < hidden; row += band)
        {
            int rows = Math.Min(band, hidden - row);
            var source = buffer.AsSpan(0, rows * vocab);
            ExternalWeights.ReadFloats(tensors.Weights, folder, (long)row * vocab, source);
            TransposeInto(source, rows, vocab, result, hidden, row);
        }

        return result;
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
            if (biasTensor is null || biasTensor.Dims.Aggregate(1L, (a, b) => a * b) != vocab || !IsFloat32(biasTensor))
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
        if (Initializer(matMul.Input[1]) is { } folded && folded.Dims.SequenceEqual([hidden, vocab]) && IsFloat32(folded))
        {
            found = new ProjectionTensors(folded, Folded: true, bias);
        }
        else if (Producer(matMul.Input[1]) is { OpType: "Transpose" } t
            && Initializer(t.Input[0]) is { } tied && tied.Dims.SequenceEqual([vocab, hidden]) && IsFloat32(tied)
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

    /// <summary>
    /// In a merged decoder exported without constant folding, each If branch transposes the outer graph's Linear
    /// weights itself (torch's [out, in] → [in, out]), and ONNX Runtime folds every branch's Transpose into a copy of its
    /// own: the decoder layers' weights held twice (~190 MB at opus-mt size). One Transpose per weight in the outer
    /// graph, read by both branches, is folded once. The values are the same, so the sums are too.
    /// </summary>
    internal static void HoistWeightTransposes(GraphProto graph, NodeProto ifNode, Dictionary<string, TensorProto> initializers)
    {
        var hoisted = new Dictionary<string, string>(StringComparer.Ordinal);   // initializer → its transposed value
        foreach (var branch in GraphWalk.Subgraphs(ifNode))
        {
            var local = branch.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
            var renames = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var node in branch.Node.ToList())
            {
                if (node.OpType != "Transpose" || node.Domain is not ("" or "ai.onnx") || node.Input.Count != 1
                    || local.Contains(node.Input[0]) || !initializers.TryGetValue(node.Input[0], out var weight)
                    || weight.Dims.Count != 2 || node.Attribute.Any(a => a.Name == "perm" && !a.Ints.SequenceEqual([1L, 0L]))
                    || branch.Output.Any(o => o.Name == node.Output[0]))
                {
                    continue;
                }

                if (!hoisted.TryGetValue(weight.Name, out var shared))
                {
                    shared = weight.Name + "/transposed";
                    hoisted[weight.Name] = shared;
                    graph.Node.Insert(graph.Node.IndexOf(ifNode), new NodeProto
                    {
                        OpType = "Transpose",
                        Name = shared,
                        Input = { weight.Name },
                        Output = { shared },
                    });
                }

                renames[node.Output[0]] = shared;
                branch.Node.Remove(node);
            }

            foreach (var node in branch.Node)
            {
                for (int i = 0; i < node.Input.Count; i++)
                {
                    if (renames.TryGetValue(node.Input[i], out var shared))
                    {
                        node.Input[i] = shared;
                    }
                }
            }
        }
    }

    /// <summary>
    /// The merged decoder's with-cache branch hands the cross-attention cache it was given back as
    /// present.*.encoder.* through Identity nodes, and ONNX Runtime copies an If branch's output: the whole
    /// cross-attention cache (rows · heads · source length · head size per layer, key and value) on every step, a
    /// fifth to a third of a beam-4 batch-32 step's kernel time on the embedded model
    /// (bench/results/beam-profile-2026-12-02.md). The engine never fetches those outputs after the first step (it
    /// feeds back the cache it already holds), so each such branch output becomes an empty tensor of the same type and
    /// rank. The no-cache branch, which computes the cache, is left alone; no value the engine reads changes.
    /// </summary>
    /// <returns>Whether a copy was dropped.</returns>
    internal static bool DropPassthroughCopies(GraphProto graph, NodeProto ifNode)
    {
        bool dropped = false;
        var inputs = graph.Input.ToDictionary(i => i.Name, StringComparer.Ordinal);
        foreach (var branch in GraphWalk.Subgraphs(ifNode))
        {
            var outputs = branch.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
            // An output the branch itself also reads keeps its value.
            outputs.ExceptWith(GraphWalk.Reads(branch));
            for (int i = 0; i < branch.Node.Count; i++)
            {
                var node = branch.Node[i];
                if (node.OpType != "Identity" || node.Domain is not ("" or "ai.onnx") || node.Input.Count != 1
                    || node.Output.Count != 1 || !outputs.Contains(node.Output[0])
                    || !inputs.TryGetValue(node.Input[0], out var input)
                    || !input.Name.StartsWith("past_key_values.", StringComparison.Ordinal)
                    || !(input.Name.EndsWith(".encoder.key", StringComparison.Ordinal)
                        || input.Name.EndsWith(".encoder.value", StringComparison.Ordinal))
                    || input.Type?.TensorType is not { Shape.Dim.Count: > 0 } type)
                {
                    continue;
                }

                var empty = new TensorProto { Name = node.Output[0] + "/empty", DataType = type.ElemType };
                // The declared fixed sizes (heads, head size) are kept, the symbolic ones (rows, length) are 0.
                empty.Dims.AddRange(type.Shape.Dim.Select(d => d.DimValue > 0 ? d.DimValue : 0L));
                branch.Node[i] = new NodeProto
                {
                    OpType = "Constant",
                    Name = node.Output[0] + "/empty",
                    Output = { node.Output[0] },
                    Attribute = { new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = empty } },
                };
                dropped = true;
            }
        }

        return dropped;
    }

    /// <summary>The split reads float32 weights; any other (a float16 graph's) leaves the projection in the graph.</summary>
    private static bool IsFloat32(TensorProto tensor) => tensor.DataType == (int)TensorProto.Types.DataType.Float;

    /// <summary>A row-major [rows, columns] matrix as row-major [columns, rows].</summary>
    internal static float[] Transposed(float[] source, int rows, int columns)
    {
        var result = new float[source.Length];
        TransposeInto(source, rows, columns, result, rows, 0);
        return result;
    }

    /// <summary>
    /// Writes the row-major [rows, columns] <paramref name="source"/> transposed into columns
    /// <paramref name="firstColumn"/>.. of the row-major [columns, <paramref name="targetColumns"/>]
    /// <paramref name="target"/>. In tiles, so that reads and writes both stay within a few cache lines.
    /// </summary>
    internal static void TransposeInto(ReadOnlySpan<float> source, int rows, int columns, Span<float> target,
        int targetColumns, int firstColumn)
    {
        const int tile = 32;
        for (int r0 = 0; r0 < rows; r0 += tile)
        {
            int r1 = Math.Min(rows, r0 + tile);
            for (int c0 = 0; c0 < columns; c0 += tile)
            {
                int c1 = Math.Min(columns, c0 + tile);
                for (int c = c0; c < c1; c++)
                {
                    var to = target.Slice(c * targetColumns + firstColumn);
                    for (int r = r0; r < r1; r++)
                    {
                        to[r] = source[r * columns + c];
                    }
                }
            }
        }
    }
}

/// <summary>A decoder graph without its output projection, and the projection.</summary>
/// <param name="Model">The rewritten graph; its large weights are external data in the original file.</param>
/// <param name="Folder">Where that external data lives (the original file's folder).</param>
internal sealed record SplitDecoder(byte[] Model, ProjectionWeights Weights, string Folder);

/// <summary>A decoder graph as rewritten at load (<see cref="DecoderGraph.TryRewrite"/>).</summary>
/// <param name="Model">The rewritten graph; its large weights are external data in the original file.</param>
/// <param name="Weights">The split-off output projection; null when the graph keeps it.</param>
/// <param name="Folder">Where that external data lives (the original file's folder).</param>
/// <param name="RowPositions">The graph takes <see cref="DecoderRowPositions.InputName"/>.</param>
internal sealed record DecoderRewrite(byte[] Model, ProjectionWeights? Weights, string Folder, bool RowPositions);
