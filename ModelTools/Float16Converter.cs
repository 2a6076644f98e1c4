using System.Runtime.InteropServices;
using Google.Protobuf;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Engine.Onnx;

namespace ServerlessInference.ModelTools;

/// <summary>What a float16 conversion changed.</summary>
public sealed record Float16Report(int TensorsConverted, int CastsAdded, long BytesBefore, long BytesAfter);

/// <summary>
/// float32 → float16 as transformers.js' conversion script writes its <c>_fp16</c> files (onnxconverter-common's
/// <c>convert_float_to_float16</c> with <c>keep_io_types</c>): every float initializer, constant and cast target of the
/// graph and its subgraphs becomes float16, while the graph's float inputs and outputs stay float32 behind Cast nodes, so
/// a caller feeds and reads float32 as before (the engine needs no float16 code). Values are clamped to float16's finite
/// range: an attention mask's float32 minimum becomes −65504, still far below any score. ONNX Runtime runs a node that
/// has no float16 kernel on the CPU in float32 between casts it inserts itself.
/// </summary>
public static class Float16Converter
{
    private const int Float = (int)TensorProto.Types.DataType.Float;
    private const int Float16 = (int)TensorProto.Types.DataType.Float16;

    public static Float16Report ConvertFile(string input, string output)
    {
        ModelProto model;
        using (var file = File.OpenRead(input))
        {
            model = ModelProto.Parser.ParseFrom(file);
        }

        var report = Convert(model);
        using (var file = File.Create(output))
        {
            model.WriteTo(file);
        }

        return report;
    }

    internal static Float16Report Convert(ModelProto model)
    {
        var converter = new Converter();
        var graph = model.Graph;
        converter.Visit(graph);

        // The graph's own float inputs and outputs keep their type: a Cast at each end.
        var casts = new List<NodeProto>();
        foreach (var input in graph.Input.Where(IsFloat))
        {
            string half = input.Name + "_fp16";
            Rename(graph, input.Name, half, producersToo: false);
            casts.Add(Cast(input.Name, half, Float16));
        }

        for (int i = 0; i < casts.Count; i++)
        {
            graph.Node.Insert(i, casts[i]);
        }

        foreach (var output in graph.Output.Where(IsFloat))
        {
            string half = output.Name + "_fp16";
            Rename(graph, output.Name, half, producersToo: true);
            graph.Node.Add(Cast(half, output.Name, Float));
            casts.Add(graph.Node[^1]);
        }

        return new Float16Report(converter.Converted, casts.Count, converter.BytesBefore, converter.BytesAfter);
    }

    private static bool IsFloat(ValueInfoProto value) => value.Type?.TensorType?.ElemType == Float;

    private static NodeProto Cast(string input, string output, int to) => new()
    {
        OpType = "Cast",
        Name = output + "/cast",
        Input = { input },
        Output = { output },
        Attribute = { OnnxTensors.Int("to", to) },
    };

    /// <summary>Renames a value wherever the graph or its subgraphs read it (and, with <paramref name="producersToo"/>,
    /// where it is written).</summary>
    private static void Rename(GraphProto graph, string from, string to, bool producersToo)
    {
        foreach (var node in graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++)
            {
                if (node.Input[i] == from)
                {
                    node.Input[i] = to;
                }
            }

            if (producersToo)
            {
                for (int i = 0; i < node.Output.Count; i++)
                {
                    if (node.Output[i] == from)
                    {
                        node.Output[i] = to;
                    }
                }
            }

            foreach (var sub in GraphWalk.Subgraphs(node))
            {
                Rename(sub, from, to, producersToo: false);
            }
        }
    }

    private sealed class Converter
    {
        public int Converted { get; private set; }
        public long BytesBefore { get; private set; }
        public long BytesAfter { get; private set; }

        /// <summary>Converts a graph's tensors and types; the outermost graph's inputs and outputs are left to the
        /// caller, a subgraph's (an If branch's results) become float16.</summary>
        public void Visit(GraphProto graph, bool subgraph = false)
        {
            foreach (var t in graph.Initializer)
            {
                Convert(t);
            }

            foreach (var v in graph.ValueInfo.Where(IsFloat))
            {
                v.Type.TensorType.ElemType = Float16;
            }

            if (subgraph)
            {
                foreach (var v in graph.Input.Concat(graph.Output).Where(IsFloat))
                {
                    v.Type.TensorType.ElemType = Float16;
                }
            }

            foreach (var node in graph.Node)
            {
                foreach (var a in node.Attribute)
                {
                    if (a.T is not null)
                    {
                        Convert(a.T);   // Constant's value, ConstantOfShape's fill value
                    }

                    foreach (var t in a.Tensors)
                    {
                        Convert(t);
                    }
                }

                foreach (var sub in GraphWalk.Subgraphs(node))
                {
                    Visit(sub, subgraph: true);
                }

                if (node.OpType == "Cast" && node.Attribute.SingleOrDefault(a => a.Name == "to") is { I: Float } to)
                {
                    to.I = Float16;
                }

                if (node.OpType == "Constant" && node.Attribute.SingleOrDefault(a => a.Name is "value_float" or "value_floats")
                    is { } scalar)
                {
                    throw new ModelFormatException($"Constant '{node.Name}' holds a float attribute ({scalar.Name}); "
                        + "only tensor constants are converted.");
                }
            }
        }

        private void Convert(TensorProto tensor)
        {
            if (tensor.DataType != Float)
            {
                return;
            }

            if (tensor.DataLocation == TensorProto.Types.DataLocation.External)
            {
                throw new ModelFormatException($"Tensor '{tensor.Name}' is stored outside the file; convert a model with its "
                    + "weights inside it.");
            }

            float[] values = WeightQuantizer.ReadFloats(tensor);
            var halves = new Half[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                halves[i] = (Half)Math.Clamp(values[i], -65504f, 65504f);
            }

            BytesBefore += values.Length * 4L;
            BytesAfter += values.Length * 2L;
            tensor.FloatData.Clear();
            tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(halves.AsSpan()));
            tensor.DataType = Float16;
            Converted++;
        }
    }
}
