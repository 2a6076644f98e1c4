using Google.Protobuf;
using ServerlessInference.Engine.Onnx;

namespace ServerlessInference.Engine.Sessions;

/// <summary>
/// Gives an Optimum decoder's cached step per-row positions, so that sequences at different steps can share one run
/// (continuous batching: a sentence joins a running batch at a step boundary).
/// <para>The export derives every row's position from the cache length, which all rows share, and its self-attention
/// has no mask (one new token attends to the whole cache). The rewrite adds the input <see cref="InputName"/>
/// (int64 [batch, 1], the position of the token each row feeds) and, in the with-past step:
/// the positional embedding is looked up at that position; the new key and value are written at that position of
/// the cache instead of only appended after it; and the self-attention ignores cache slots after it.</para>
/// <para>So a row at position p keeps its cache in slots 0..p and its unused slots after them. Its attention reads the
/// same values in the same slots as when it runs alone, followed by slots whose weight is exactly 0 (their scores are
/// float.MinValue below the row's maximum): the sums over the cache see the same terms in the same order plus zeros,
/// which is why a row's output does not depend on the rows beside it (<c>ContinuousBatchingTests</c> check it
/// id for id). A batch whose rows are all at the cache length computes what the original graph does.</para>
/// </summary>
internal static class DecoderRowPositions
{
    public const string InputName = "decoder_position_ids";

    private const string Prefix = "row_positions/";

    /// <summary>Rewrites <paramref name="model"/> in place; false (and the model unchanged) when its with-past step
    /// does not have the shape this rewrite knows: then sequences of a batch must stay in step.</summary>
    /// <param name="layers">Decoder layers (one past key and value per layer).</param>
    public static bool TryRewrite(ModelProto model, int layers)
    {
        if (model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx") is not { Version: >= 13 })
        {
            return false; // Unsqueeze takes its axes as an input from opset 13 on
        }

        var top = model.Graph;
        var copy = top.Clone();
        if (!TryRewrite(copy, layers))
        {
            return false;
        }

        model.Graph = copy;
        return true;
    }

    private static bool TryRewrite(GraphProto top, int layers)
    {
        // The cached step: the merged decoder's use_cache_branch=true branch, or a decoder_with_past graph itself.
        GraphProto step = top;
        Func<string, string> inStep = name => name;
        var ifNode = top.Node.FirstOrDefault(n => n.OpType == "If");
        if (ifNode is not null)
        {
            step = ifNode.Attribute.FirstOrDefault(a => a.Name == "then_branch")?.G!;
            if (step is null || ifNode.Output.Count != step.Output.Count)
            {
                return false;
            }

            var branchNames = ifNode.Output.Select((o, i) => (o, step.Output[i].Name)).ToDictionary(p => p.o, p => p.Name);
            inStep = name => branchNames.GetValueOrDefault(name, "");
        }
        else if (!top.Input.Any(i => i.Name == "past_key_values.0.decoder.key"))
        {
            return false;
        }

        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in step.Node)
        {
            foreach (var output in node.Output)
            {
                producers[output] = node;
            }
        }

        var initializers = top.Initializer.Concat(step.Initializer).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var positions = PositionalLookup(step, producers, initializers);
        if (positions is null)
        {
            return false;
        }

        // Each layer: present.i.decoder.{key,value} = Concat(past, new) on the time axis, and one Softmax over
        // scores computed from the present key.
        var appends = new List<NodeProto>();
        var softmaxes = new List<NodeProto>();
        for (int i = 0; i < layers; i++)
        {
            foreach (var part in new[] { "key", "value" })
            {
                var present = inStep($"present.{i}.decoder.{part}");
                if (!producers.TryGetValue(present, out var concat) || concat.OpType != "Concat" || concat.Input.Count != 2
                    || concat.Input[0] != $"past_key_values.{i}.decoder.{part}" || Axis(concat) is not (2 or -2))
                {
                    return false;
                }

                appends.Add(concat);
            }

            var softmax = SelfAttentionSoftmax(step, inStep($"present.{i}.decoder.key"));
            if (softmax is null)
            {
                return false;
            }

            softmaxes.Add(softmax);
        }

        // Declared without a shape ([batch, 1] is what is fed): a known shape here lets ONNX Runtime's shape inference
        // prove the residual Adds' shapes equal and fuse them with the layer norms (SkipLayerNormalization), which sums
        // in another order, so outputs would no longer be the export's to the bit.
        top.Input.Add(new ValueInfoProto
        {
            Name = InputName,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Int64 } },
        });

        positions.Input[1] = InputName;

        // Computed once, from the inputs only, so they go first: the row's position as [batch,1,1,1], the shape of
        // one step's key ([batch, heads, 1, head_dim], the cache's shape with 1 slot) and the additive mask over the
        // T+1 slots of the present cache (0 up to the row's position, float.MinValue after it, [batch,1,1,T+1]).
        var setup = new List<NodeProto>();
        string Name(string what) => Prefix + what;
        NodeProto Node(string op, string output, params string[] inputs)
        {
            var node = new NodeProto { OpType = op, Name = Name(output), Output = { Name(output) } };
            node.Input.AddRange(inputs);
            setup.Add(node);
            return node;
        }

        var constants = new List<NodeProto>
        {
            Constant(Name("axes_2_3"), [2L, 3L]),
            Constant(Name("axes_1_2"), [1L, 2L]),
            Constant(Name("keep_all_but_time"), [1L, 1L, 0L, 1L]),
            Constant(Name("one_slot"), [0L, 0L, 1L, 0L]),
            Constant(Name("time_axis"), 2L),
            Constant(Name("zero"), 0L),
            Constant(Name("one"), 1L),
            Constant(Name("masked"), float.MinValue),
            Constant(Name("kept"), 0f),
        };
        Node("Unsqueeze", "position_4d", InputName, Name("axes_2_3"));
        Node("Shape", "cache_shape", "past_key_values.0.decoder.key");
        Node("Mul", "step_shape_0", Name("cache_shape"), Name("keep_all_but_time"));
        Node("Add", "step_shape", Name("step_shape_0"), Name("one_slot"));
        Node("Expand", "write_index", Name("position_4d"), Name("step_shape"));
        Node("Gather", "cache_length", Name("cache_shape"), Name("time_axis"));
        Node("Add", "slots", Name("cache_length"), Name("one"));
        Node("Range", "slot_index", Name("zero"), Name("slots"), Name("one"));
        Node("Greater", "after_position", Name("slot_index"), InputName);
        Node("Where", "mask_2d", Name("after_position"), Name("masked"), Name("kept"));
        Node("Unsqueeze", "self_attention_mask", Name("mask_2d"), Name("axes_1_2"));
        for (int i = 0; i < constants.Count + setup.Count; i++)
        {
            step.Node.Insert(i, i < constants.Count ? constants[i] : setup[i - constants.Count]);
        }

        foreach (var concat in appends)
        {
            // present = ScatterElements(Concat(past, new), index, new): the new slot at the row's position.
            var present = concat.Output[0];
            var appended = present + "/appended";
            concat.Output[0] = appended;
            var scatter = new NodeProto
            {
                OpType = "ScatterElements",
                Name = Prefix + present,
                Input = { appended, Name("write_index"), concat.Input[1] },
                Output = { present },
                Attribute = { new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 2 } },
            };
            step.Node.Insert(step.Node.IndexOf(concat) + 1, scatter);
        }

        foreach (var softmax in softmaxes)
        {
            var masked = softmax.Input[0] + "/row_masked";
            var add = new NodeProto
            {
                OpType = "Add",
                Name = Prefix + masked,
                Input = { softmax.Input[0], Name("self_attention_mask") },
                Output = { masked },
            };
            step.Node.Insert(step.Node.IndexOf(softmax), add);
            softmax.Input[0] = masked;
        }

        return true;
    }

    /// <summary>The Gather that looks the positional embedding up: a [positions, d_model] initializer indexed by a
    /// Range (the export's arange over the cache length), whose result is added to the token embeddings.</summary>
    private static NodeProto? PositionalLookup(GraphProto step, Dictionary<string, NodeProto> producers,
        HashSet<string> initializers)
    {
        var found = step.Node.Where(n => n.OpType == "Gather" && n.Input.Count == 2 && initializers.Contains(n.Input[0])
                && producers.TryGetValue(n.Input[1], out var index) && index.OpType == "Range")
            .ToList();
        if (found.Count != 1)
        {
            return null;
        }

        var lookup = found[0];
        // [slots, d_model] before, [batch, 1, d_model] after: only an elementwise Add may read it (broadcasting both).
        var readers = step.Node.Where(n => n.Input.Contains(lookup.Output[0])).ToList();
        return readers.Count == 1 && readers[0].OpType == "Add" ? lookup : null;
    }

    /// <summary>The Softmax of the self-attention whose keys are <paramref name="presentKey"/>: scores =
    /// MatMul(query, Transpose(presentKey)) (or the key itself), possibly through Adds (a causal mask), then Softmax.</summary>
    private static NodeProto? SelfAttentionSoftmax(GraphProto step, string presentKey)
    {
        var transposed = step.Node.Where(n => n.OpType == "Transpose" && n.Input.Count == 1 && n.Input[0] == presentKey)
            .Select(n => n.Output[0]).Append(presentKey).ToHashSet(StringComparer.Ordinal);
        var scores = step.Node.Where(n => n.OpType == "MatMul" && transposed.Contains(n.Input[1])).ToList();
        if (scores.Count != 1)
        {
            return null;
        }

        var value = scores[0].Output[0];
        for (int hops = 0; hops < 4; hops++)
        {
            var readers = step.Node.Where(n => n.Input.Contains(value)).ToList();
            if (readers.Count != 1)
            {
                return null;
            }

            switch (readers[0].OpType)
            {
                case "Softmax" when Axis(readers[0]) is -1 or 3 or null:
                    return readers[0];
                case "Add":
                    value = readers[0].Output[0];
                    break;
                default:
                    return null;
            }
        }

        return null;
    }

    private static long? Axis(NodeProto node) =>
        node.Attribute.FirstOrDefault(a => a.Name == "axis") is { } axis ? axis.I : null;

    private static NodeProto Constant(string name, long[] values) =>
        Constant(name, new TensorProto
        {
            DataType = (int)TensorProto.Types.DataType.Int64,
            Dims = { values.Length },
            Int64Data = { values },
        });

    private static NodeProto Constant(string name, long value) =>
        Constant(name, new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64, Int64Data = { value } });

    private static NodeProto Constant(string name, float value) =>
        Constant(name, new TensorProto { DataType = (int)TensorProto.Types.DataType.Float, FloatData = { value } });

    private static NodeProto Constant(string name, TensorProto value) => new()
    {
        OpType = "Constant",
        Name = name,
        Output = { name },
        Attribute = { new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = value } },
    };
}
