using Google.Protobuf;
using ServerlessInference.Engine.Onnx;
using ServerlessInference.Engine.Sessions;

namespace ServerlessInference.ModelTools;

/// <summary>How <see cref="ModelQuantizer"/> rewrites a MatMul whose weight is stored in the file.</summary>
public enum WeightQuantization
{
    /// <summary>com.microsoft MatMulNBits, 4-bit symmetric blocks (transformers.js <c>q4</c>, ONNX Runtime's
    /// MatMulNBitsQuantizer with is_symmetric).</summary>
    Q4,

    /// <summary>com.microsoft MatMulNBits with 8 bits, symmetric blocks.</summary>
    Q8Blockwise,

    /// <summary>DynamicQuantizeLinear + MatMulInteger with a per-tensor uint8 weight (ONNX Runtime's
    /// quantize_dynamic with QUInt8; transformers.js <c>q8</c>/<c>uint8</c>).</summary>
    DynamicUInt8,

    /// <summary>As <see cref="DynamicUInt8"/> with a symmetric int8 weight (quantize_dynamic with QInt8;
    /// transformers.js <c>int8</c>).</summary>
    DynamicInt8,

    /// <summary>com.microsoft MatMulBnb4: 4-bit NF4 (or FP4) codes in blocks of the transposed weight, one absmax per
    /// block (ONNX Runtime's MatMulBnb4Quantizer; transformers.js <c>bnb4</c>).</summary>
    Bnb4,
}

/// <summary>How <see cref="ModelQuantizer"/> rewrites a graph.</summary>
/// <param name="Kind">The operator family the MatMuls become.</param>
/// <param name="BlockSize">MatMulNBits' block (rows of the weight sharing a scale).</param>
/// <param name="AccuracyLevel">MatMulNBits' accuracy_level: 0 leaves it unset (float32 compute, as transformers.js' q4
/// files), 4 lets ONNX Runtime quantize activations to int8.</param>
public sealed record QuantizationSettings(WeightQuantization Kind, int BlockSize = 32, int AccuracyLevel = 0)
{
    /// <summary>The output projection's width (the vocabulary size; 0: none is singled out). The weight with this
    /// many columns is by far the largest, and at batch 32 its MatMul is ~40% of a decoder step; it gets
    /// <see cref="OutputProjectionBlockSize"/>.</summary>
    public int Vocab { get; init; }

    /// <summary>The output projection's block (0: <see cref="BlockSize"/>). Larger blocks mean fewer scales to apply
    /// per dot product (bench/results/quantized-recipe-2026-11-26.md).</summary>
    public int OutputProjectionBlockSize { get; init; }

    /// <summary>Fold the bias Add that follows a MatMulNBits into the operator's own bias input (ONNX Runtime's
    /// quantizer leaves it a separate Add, a full pass over the output: over the logits at batch 32, 12% of a step).</summary>
    public bool FuseBias { get; init; }

    /// <summary>Dynamic kinds: one scale and zero point per output column of a MatMul weight instead of one per
    /// tensor (quantize_dynamic's per_channel).</summary>
    public bool PerChannel { get; init; }

    /// <summary>Leave the output projection (the MatMul as wide as <see cref="Vocab"/>) float32. The engine then
    /// splits it off the decoder and scores greedy steps with its own exact search over 4-bit scores
    /// (Engine/Sessions/OutputProjection), and beam search reads float32 log-probabilities.</summary>
    public bool KeepOutputProjection { get; init; }

    /// <summary>Dynamic kinds: 7-bit weights, [−64, 64] or [0, 127] (quantize_dynamic's reduce_range).</summary>
    public bool ReduceRange { get; init; }

    /// <summary>Dynamic kinds: a Gather over a float initializer (the embeddings) reads an 8-bit copy of it, per tensor,
    /// followed by DequantizeLinear, as quantize_dynamic's GatherQuant writes it (Gather is among its IntegerOps).</summary>
    public bool QuantizeGather { get; init; }

    /// <summary><see cref="WeightQuantization.Bnb4"/>'s code book: <see cref="WeightQuantizer.Nf4"/> (the quantizer's
    /// default, and transformers.js') or <see cref="WeightQuantizer.Fp4"/>.</summary>
    public int Bnb4Type { get; init; } = WeightQuantizer.Nf4;

    /// <summary>MatMulBnb4's block over the flattened transposed weight (bitsandbytes' Linear4bit uses 64, the
    /// default of transformers.js' quantize.py for bnb4).</summary>
    public const int Bnb4BlockSize = 64;

    internal bool Blockwise => Kind is WeightQuantization.Q4 or WeightQuantization.Q8Blockwise;

    internal bool Dynamic => Kind is WeightQuantization.DynamicUInt8 or WeightQuantization.DynamicInt8;

    /// <summary>
    /// The recipe transformers.js' scripts/quantize.py (ONNX Runtime's quantizers) applies for a dtype, the files
    /// Xenova/* and onnx-community/* publish: <c>q8</c> as Xenova's <c>_quantized</c> opus-mt files (QInt8 weights
    /// per channel with reduce_range, the embeddings' Gather quantized too); <c>int8</c> / <c>uint8</c> per-tensor
    /// QInt8 / QUInt8, Gather included; <c>q4</c> (and <c>q4f16</c> before its float16 conversion) MatMulNBits
    /// blocks of 32, symmetric, accuracy_level unset; <c>bnb4</c> MatMulBnb4 NF4 in blocks of 64. Null for fp32 and
    /// fp16 (no quantisation).
    /// </summary>
    public static QuantizationSettings? TransformersJs(string dtype) => dtype switch
    {
        "q8" => new(WeightQuantization.DynamicInt8) { PerChannel = true, ReduceRange = true, QuantizeGather = true },
        "int8" => new(WeightQuantization.DynamicInt8) { QuantizeGather = true },
        "uint8" => new(WeightQuantization.DynamicUInt8) { QuantizeGather = true },
        "q4" or "q4f16" => new(WeightQuantization.Q4),
        "bnb4" => new(WeightQuantization.Bnb4, Bnb4BlockSize),
        "fp32" or "fp16" => null,
        _ => throw new ArgumentException($"dtype '{dtype}' has no transformers.js quantisation recipe."),
    };
}

/// <summary>What a quantisation changed.</summary>
public sealed record QuantizationReport(int MatMulsQuantized, int MatMulsKept, long WeightBytesBefore, long WeightBytesAfter,
    int BiasesFused = 0, int GathersQuantized = 0);

/// <summary>
/// Rewrites an ONNX graph's MatMuls over float32 weights stored in the file (in the main graph and in subgraphs such as
/// the merged decoder's If branches, which read the outer graph's weights) into quantized operators. The rule is ONNX
/// Runtime's: only a MatMul whose second input is a 2-D float initializer is quantized; a weight computed in the graph
/// (the tied output projection, Transpose of the embeddings) stays float32. A weight shared by several MatMuls is
/// quantized once.
/// </summary>
public static class ModelQuantizer
{
    public const int DefaultBlockSize = 32;
    public const int DefaultOutputProjectionBlockSize = 128;

    public static QuantizationReport QuantizeFile(string input, string output, QuantizationSettings settings)
    {
        ModelProto model;
        using (var file = File.OpenRead(input))
        {
            model = ModelProto.Parser.ParseFrom(file);
        }

        var report = Quantize(model, settings);
        using (var file = File.Create(output))
        {
            model.WriteTo(file);
        }

        return report;
    }

    internal static QuantizationReport Quantize(ModelProto model, QuantizationSettings settings)
    {
        var rewriter = new Rewriter(settings);
        rewriter.Visit(model.Graph, outer: []);
        GraphPruning.RemoveUnusedInitializers(model.Graph);
        if ((settings.Blockwise || settings.Kind == WeightQuantization.Bnb4) && model.OpsetImport.All(o => o.Domain != "com.microsoft"))
        {
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        }

        return new QuantizationReport(rewriter.Quantized, rewriter.Kept, rewriter.BytesBefore, rewriter.BytesAfter, rewriter.Fused,
            rewriter.GathersQuantized);
    }

    private sealed class Rewriter(QuantizationSettings settings)
    {
        private readonly Dictionary<string, string[]> _done = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _vectors = new(StringComparer.Ordinal);
        public int Quantized { get; private set; }
        public int Kept { get; private set; }
        public long BytesBefore { get; private set; }
        public long BytesAfter { get; private set; }
        public int Fused { get; private set; }
        public int GathersQuantized { get; private set; }

        /// <param name="outer">Initializers of the enclosing graphs, with the graph that holds each.</param>
        /// <param name="outerAliases">Values of the enclosing graphs that are an Identity of an initializer (an export
        /// stores identical tensors once and reads the copy through Identity, as torch does with equal biases).</param>
        public void Visit(GraphProto graph, Dictionary<string, (TensorProto Tensor, GraphProto Owner)> outer,
            Dictionary<string, (TensorProto Tensor, GraphProto Owner)>? outerAliases = null)
        {
            var scope = new Dictionary<string, (TensorProto Tensor, GraphProto Owner)>(outer, StringComparer.Ordinal);
            foreach (var t in graph.Initializer)
            {
                scope[t.Name] = (t, graph);
            }

            var aliases = new Dictionary<string, (TensorProto Tensor, GraphProto Owner)>(outerAliases ?? [], StringComparer.Ordinal);
            foreach (var n in graph.Node)
            {
                if (n.OpType == "Identity" && n.Domain is "" or "ai.onnx" && scope.TryGetValue(n.Input[0], out var source))
                {
                    aliases[n.Output[0]] = source;
                }
            }

            var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
            foreach (var n in graph.Node)
            {
                foreach (var o in n.Output)
                {
                    producers[o] = n;
                }
            }

            var bypassed = new HashSet<NodeProto>();
            for (int i = 0; i < graph.Node.Count; i++)
            {
                var node = graph.Node[i];
                foreach (var sub in GraphWalk.Subgraphs(node))
                {
                    Visit(sub, scope, aliases);
                }

                if (settings.QuantizeGather && settings.Dynamic && node.OpType == "Gather" && node.Domain is "" or "ai.onnx"
                    && scope.TryGetValue(node.Input[0], out var table) && Quantizable(table.Tensor, anyRank: true))
                {
                    var gather = Gather(node, table.Tensor, table.Owner);
                    graph.Node.Insert(i + 1, gather);
                    i++;
                    continue;
                }

                if (node.OpType != "MatMul" || node.Domain is not ("" or "ai.onnx") || node.Input.Count != 2)
                {
                    continue;
                }

                var weight = Weight(node.Input[1], scope, producers, out var transpose);
                if (weight is null || (settings.KeepOutputProjection && settings.Vocab > 0 && weight.N == settings.Vocab)
                    || (settings.Blockwise && !Blockable(weight)))
                {
                    Kept++;
                    continue;
                }

                var replacement = settings.Blockwise ? Blockwise(node, weight)
                    : settings.Kind == WeightQuantization.Bnb4 ? [Bnb4(node, weight)]
                    : Dynamic(node, weight);
                graph.Node.RemoveAt(i);
                for (int j = 0; j < replacement.Count; j++)
                {
                    graph.Node.Insert(i + j, replacement[j]);
                }

                if (transpose is not null)
                {
                    bypassed.Add(transpose);
                }

                i += replacement.Count - 1;
                Quantized++;
            }

            // A Transpose whose only readers were quantized MatMuls computes nothing any more.
            foreach (var t in bypassed)
            {
                if (!graph.Node.Any(n => n.Input.Contains(t.Output[0])) && graph.Output.All(o => o.Name != t.Output[0]))
                {
                    graph.Node.Remove(t);
                }
            }

            if (settings.FuseBias && settings.Blockwise)
            {
                FuseBiases(graph, scope, aliases);
            }
        }

        /// <summary>ONNX Runtime's MatMulNBits takes blocks of 16, 32, 64, 128 or 256 only (so one block per column,
        /// per-channel, is possible only where K ≤ 256); a weight it cannot take stays float32.</summary>
        private bool Blockable(Weight weight)
        {
            int block = BlockSize(weight);
            return block is 16 or 32 or 64 or 128 or 256 && weight.K % block == 0;
        }

        private int BlockSize(Weight weight) =>
            settings.Vocab > 0 && weight.N == settings.Vocab && settings.OutputProjectionBlockSize > 0
                ? settings.OutputProjectionBlockSize
                : settings.BlockSize;

        /// <summary>MatMulNBits → Add(bias) becomes MatMulNBits with its bias input, where the Add is the product's
        /// only reader and the bias a float initializer of N values (Optimum's Linear bias [N], Marian's
        /// final_logits_bias [1, N]). The sum is the same one: the kernel adds the bias to the finished dot product.</summary>
        private void FuseBiases(GraphProto graph, Dictionary<string, (TensorProto Tensor, GraphProto Owner)> scope,
            Dictionary<string, (TensorProto Tensor, GraphProto Owner)> aliases)
        {
            var readers = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var name in GraphWalk.Reads(graph))
            {
                readers[name] = readers.GetValueOrDefault(name) + 1;
            }

            var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
            var adds = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
            foreach (var n in graph.Node)
            {
                if (n.OpType == "Add" && n.Domain is "" or "ai.onnx" && n.Input.Count == 2)
                {
                    adds.TryAdd(n.Input[0], n);
                    adds.TryAdd(n.Input[1], n);
                }
            }

            foreach (var node in graph.Node.Where(n => n.OpType == "MatMulNBits" && n.Input.Count == 3).ToList())
            {
                string product = node.Output[0];
                if (readers.GetValueOrDefault(product) != 1 || outputs.Contains(product) || !adds.TryGetValue(product, out var add))
                {
                    continue;
                }

                long n = node.Attribute.Single(a => a.Name == "N").I;
                string other = add.Input[0] == product ? add.Input[1] : add.Input[0];
                if (!(scope.TryGetValue(other, out var bias) || aliases.TryGetValue(other, out bias))
                    || bias.Tensor.DataType != (int)TensorProto.Types.DataType.Float
                    || bias.Tensor.DataLocation == TensorProto.Types.DataLocation.External
                    || bias.Tensor.Dims.Aggregate(1L, (a, d) => a * d) != n || bias.Tensor.Dims.Any(d => d != 1 && d != n))
                {
                    continue;
                }

                node.Input.Add("");   // zero_points
                node.Input.Add("");   // g_idx
                node.Input.Add(Vector(bias.Tensor, bias.Owner, n));
                node.Output[0] = add.Output[0];
                graph.Node.Remove(add);
                Fused++;
            }

            // An Identity that only fed fused Adds computes nothing any more (subgraphs were fused before this graph).
            var read = GraphWalk.Reads(graph).Concat(outputs).ToHashSet(StringComparer.Ordinal);
            foreach (var dead in graph.Node.Where(n => n.OpType == "Identity" && aliases.ContainsKey(n.Output[0])
                && !read.Contains(n.Output[0])).ToList())
            {
                graph.Node.Remove(dead);
            }
        }

        /// <summary>The bias as MatMulNBits reads it, 1-D [N]: the tensor itself, or a reshaped copy made once.</summary>
        private string Vector(TensorProto bias, GraphProto owner, long n)
        {
            if (bias.Dims.Count == 1)
            {
                return bias.Name;
            }

            if (!_vectors.TryGetValue(bias.Name, out var name))
            {
                var vector = bias.Clone();
                vector.Name = name = bias.Name + "_vector";
                vector.Dims.Clear();
                vector.Dims.Add(n);
                owner.Initializer.Add(vector);
                _vectors[bias.Name] = name;
            }

            return name;
        }

        /// <summary>A MatMul's weight B [K, N]: a 2-D float initializer, or the Transpose of one (an export without
        /// constant folding stores torch's [N, K] Linear weights and transposes them in the graph; quantizing the
        /// transposed values is what folding first and then quantizing gives).</summary>
        private static Weight? Weight(string input, Dictionary<string, (TensorProto Tensor, GraphProto Owner)> scope,
            Dictionary<string, NodeProto> producers, out NodeProto? transpose)
        {
            transpose = null;
            static bool Usable(TensorProto t) => Quantizable(t, anyRank: false);
            if (scope.TryGetValue(input, out var direct))
            {
                return Usable(direct.Tensor) ? new Weight(direct.Tensor, direct.Owner, Transposed: false) : null;
            }

            if (producers.TryGetValue(input, out var node) && node.OpType == "Transpose" && node.Domain is "" or "ai.onnx"
                && node.Attribute.All(a => a.Name != "perm" || a.Ints.SequenceEqual([1L, 0L]))
                && scope.TryGetValue(node.Input[0], out var source) && Usable(source.Tensor))
            {
                transpose = node;
                return new Weight(source.Tensor, source.Owner, Transposed: true);
            }

            return null;
        }

        private static bool Quantizable(TensorProto t, bool anyRank) => t.DataType == (int)TensorProto.Types.DataType.Float
            && (anyRank || t.Dims.Count == 2) && t.DataLocation != TensorProto.Types.DataLocation.External;

        /// <summary>GatherQuant's rewrite: the Gather reads the table's 8-bit copy (per tensor, the weight type, no
        /// reduce_range) and a DequantizeLinear gives its readers float values under the original name. Returns the
        /// DequantizeLinear, to go after the Gather.</summary>
        private NodeProto Gather(NodeProto gather, TensorProto table, GraphProto owner)
        {
            bool signed = settings.Kind == WeightQuantization.DynamicInt8;
            var weight = new Weight(table, owner, Transposed: false);
            var names = Once(weight, () =>
            {
                var (levels, scale, zeroPoint) = WeightQuantizer.QuantizePerTensor(WeightQuantizer.ReadFloats(table), signed);
                var type = signed ? TensorProto.Types.DataType.Int8 : TensorProto.Types.DataType.Uint8;
                return
                [
                    OnnxTensors.Bytes(table.Name + "_quantized", type, levels, [.. table.Dims]),
                    OnnxTensors.Floats(table.Name + "_scale", [scale]),
                    OnnxTensors.Bytes(table.Name + "_zero_point", type, [zeroPoint]),
                ];
            }, key: table.Name + "/Gather");
            string output = gather.Output[0];
            gather.Input[0] = names[0];
            gather.Output[0] = output + "_quantized";
            GathersQuantized++;
            return new NodeProto
            {
                OpType = "DequantizeLinear",
                Name = (string.IsNullOrEmpty(gather.Name) ? output : gather.Name) + "_DequantizeLinear",
                Input = { output + "_quantized", names[1], names[2] },
                Output = { output },
            };
        }

        /// <summary>MatMulBnb4Quantizer's rewrite: B [K, N] as NF4/FP4 codes of its transpose, absmax per block.</summary>
        private NodeProto Bnb4(NodeProto matMul, Weight weight)
        {
            int blockSize = settings.BlockSize;
            var names = Once(weight, () =>
            {
                var (packed, absMax) = WeightQuantizer.QuantizeBnb4(weight.Values(), weight.K, weight.N, blockSize, settings.Bnb4Type);
                return
                [
                    OnnxTensors.Bytes(weight.Name + "_Bnb4", TensorProto.Types.DataType.Uint8, packed, packed.Length),
                    OnnxTensors.Floats(weight.Name + "_absmax", absMax, absMax.Length),
                ];
            });
            return new NodeProto
            {
                OpType = "MatMulBnb4",
                Domain = "com.microsoft",
                Name = string.IsNullOrEmpty(matMul.Name) ? matMul.Output[0] + "_Bnb4" : matMul.Name + "_Bnb4",
                Input = { matMul.Input[0], names[0], names[1] },
                Output = { matMul.Output[0] },
                Attribute =
                {
                    OnnxTensors.Int("K", weight.K), OnnxTensors.Int("N", weight.N), OnnxTensors.Int("block_size", blockSize),
                    OnnxTensors.Int("quant_type", settings.Bnb4Type),
                },
            };
        }

        private List<NodeProto> Blockwise(NodeProto matMul, Weight weight)
        {
            int blockSize = BlockSize(weight);
            int bits = settings.Kind == WeightQuantization.Q4 ? 4 : 8;
            int k = weight.K;
            int n = weight.N;
            var names = Once(weight, () =>
            {
                var (packed, scales) = WeightQuantizer.QuantizeBlockwise(weight.Values(), k, n, bits, blockSize);
                string suffix = bits == 4 ? "_Q4" : "_Q8";
                return
                [
                    OnnxTensors.Bytes(weight.Name + suffix, TensorProto.Types.DataType.Uint8, packed,
                        n, k / blockSize, blockSize * bits / 8),
                    OnnxTensors.Floats(weight.Name + "_scales", scales, scales.Length),
                ];
            });
            var node = new NodeProto
            {
                OpType = "MatMulNBits",
                Domain = "com.microsoft",
                Name = string.IsNullOrEmpty(matMul.Name) ? matMul.Output[0] + "_Q" : matMul.Name + "_Q",
                Input = { matMul.Input[0], names[0], names[1] },
                Output = { matMul.Output[0] },
                Attribute =
                {
                    OnnxTensors.Int("K", k), OnnxTensors.Int("N", n), OnnxTensors.Int("bits", bits),
                    OnnxTensors.Int("block_size", blockSize),
                },
            };
            if (settings.AccuracyLevel > 0)
            {
                node.Attribute.Add(OnnxTensors.Int("accuracy_level", settings.AccuracyLevel));
            }

            return [node];
        }

        /// <summary>quantize_dynamic's pattern, which ONNX Runtime fuses into DynamicQuantizeMatMul /
        /// MatMulIntegerToFloat when it optimises the graph.</summary>
        private List<NodeProto> Dynamic(NodeProto matMul, Weight weight)
        {
            bool signed = settings.Kind == WeightQuantization.DynamicInt8;
            var names = Once(weight, () =>
            {
                var type = signed ? TensorProto.Types.DataType.Int8 : TensorProto.Types.DataType.Uint8;
                if (settings.PerChannel)
                {
                    var (columnLevels, scales, zeroPoints) = WeightQuantizer.QuantizePerColumn(weight.Values(), weight.K, weight.N,
                        signed, settings.ReduceRange);
                    return
                    [
                        OnnxTensors.Bytes(weight.Name + "_quantized", type, columnLevels, weight.K, weight.N),
                        OnnxTensors.Floats(weight.Name + "_scale", scales, weight.N),
                        OnnxTensors.Bytes(weight.Name + "_zero_point", type, zeroPoints, weight.N),
                    ];
                }

                var (levels, scale, zeroPoint) = WeightQuantizer.QuantizePerTensor(weight.Values(), signed, settings.ReduceRange);
                return
                [
                    OnnxTensors.Bytes(weight.Name + "_quantized", type, levels, weight.K, weight.N),
                    OnnxTensors.Floats(weight.Name + "_scale", [scale]),
                    OnnxTensors.Bytes(weight.Name + "_zero_point", type, [zeroPoint]),
                ];
            });
            string a = matMul.Input[0];
            string p = (string.IsNullOrEmpty(matMul.Name) ? matMul.Output[0] : matMul.Name) + "_quant";
            return
            [
                new NodeProto
                {
                    OpType = "DynamicQuantizeLinear", Name = p + "/DynamicQuantizeLinear", Input = { a },
                    Output = { a + "_quantized_" + p, a + "_scale_" + p, a + "_zero_point_" + p },
                },
                new NodeProto
                {
                    OpType = "MatMulInteger", Name = p + "/MatMulInteger",
                    Input = { a + "_quantized_" + p, names[0], a + "_zero_point_" + p, names[2] },
                    Output = { p + "_int32" },
                },
                new NodeProto
                {
                    OpType = "Cast", Name = p + "/Cast", Input = { p + "_int32" }, Output = { p + "_float" },
                    Attribute = { OnnxTensors.Int("to", (int)TensorProto.Types.DataType.Float) },
                },
                new NodeProto
                {
                    OpType = "Mul", Name = p + "/ScaleMul", Input = { a + "_scale_" + p, names[1] }, Output = { p + "_scale" },
                },
                new NodeProto
                {
                    OpType = "Mul", Name = p + "/OutputMul", Input = { p + "_float", p + "_scale" }, Output = { matMul.Output[0] },
                },
            ];
        }

        /// <summary>Quantizes a weight the first time a MatMul reads it and stores the tensors beside it (where every
        /// reader can see them); later readers get the same names.</summary>
        private string[] Once(Weight weight, Func<TensorProto[]> make, string? key = null)
        {
            key ??= weight.Name;
            if (!_done.TryGetValue(key, out var names))
            {
                var tensors = make();
                weight.Owner.Initializer.AddRange(tensors);
                names = tensors.Select(t => t.Name).ToArray();
                _done[key] = names;
                BytesBefore += weight.Tensor.RawData.Length + weight.Tensor.FloatData.Count * 4L;
                BytesAfter += tensors.Sum(t => (long)t.RawData.Length);
            }

            return names;
        }
    }

    /// <summary>B of a MatMul: <paramref name="Tensor"/> as stored, or its transpose.</summary>
    private sealed record Weight(TensorProto Tensor, GraphProto Owner, bool Transposed)
    {
        public int K => (int)Tensor.Dims[Transposed ? 1 : 0];
        public int N => (int)Tensor.Dims[Transposed ? 0 : 1];

        /// <summary>Names the quantized tensors; the transposed one differs from the stored one, which other nodes
        /// (the embedding's Gather) may still read.</summary>
        public string Name => Transposed ? Tensor.Name + "_transposed" : Tensor.Name;

        /// <summary>Row-major [K, N].</summary>
        public float[] Values()
        {
            var stored = WeightQuantizer.ReadFloats(Tensor);
            return Transposed ? DecoderGraph.Transposed(stored, N, K) : stored;
        }
    }

}
