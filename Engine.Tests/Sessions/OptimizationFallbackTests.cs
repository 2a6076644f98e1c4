using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Engine.Onnx;
using ServerlessInference.Engine.Sessions;

namespace ServerlessInference.Engine.Tests.Sessions;

/// <summary>
/// A graph ONNX Runtime cannot optimise fully (its layer-norm fusion fails on some float16 exports) still loads, at
/// basic optimisation, and the engine says so; a graph no level opens is refused naming the file. ONNX Runtime's own
/// failure is provoked here by handing it bytes that are no model whenever the level is above basic.
/// </summary>
public sealed class OptimizationFallbackTests
{
    private static readonly string Encoder = MarianModelFolder.Read(RepoPaths.ShippedModel).EncoderPath;

    private static SessionOptions Options() => new() { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };

    [Fact]
    public void SessionThatFailsAtFullOptimisationOpensAtBasicAndSaysSo()
    {
        using var options = Options();
        var levels = new List<GraphOptimizationLevel>();
        var session = MarianOnnxModel.CreateWithFallback(Encoder, options, o =>
        {
            levels.Add(o.GraphOptimizationLevel);
            return o.GraphOptimizationLevel > GraphOptimizationLevel.ORT_ENABLE_BASIC
                ? OnnxSessions.Create([1, 2, 3], o)
                : OnnxSessions.Create(Encoder, o);
        });
        try
        {
            Assert.Equal([GraphOptimizationLevel.ORT_ENABLE_ALL, GraphOptimizationLevel.ORT_ENABLE_BASIC], levels);
            var note = MarianOnnxModel.FallbackNote(session);
            Assert.NotNull(note);
            Assert.Contains("encoder_model.onnx", note);
            Assert.Contains("ORT_ENABLE_BASIC", note);
            // The options are shared by the model's other sessions, which keep the usual level.
            Assert.Equal(GraphOptimizationLevel.ORT_ENABLE_ALL, options.GraphOptimizationLevel);
            Assert.Contains("input_ids", session.InputMetadata.Keys);
        }
        finally
        {
            OnnxSessions.Close(session);
        }
    }

    [Fact]
    public void SessionThatOpensAtFullOptimisationHasNoNote()
    {
        using var options = Options();
        var session = MarianOnnxModel.CreateWithFallback(Encoder, options, o => OnnxSessions.Create(Encoder, o));
        try
        {
            Assert.Null(MarianOnnxModel.FallbackNote(session));
        }
        finally
        {
            OnnxSessions.Close(session);
        }
    }

    [Fact]
    public void GraphThatNoLevelOpensIsRefusedNamingTheFile()
    {
        using var options = Options();
        var e = Assert.Throws<ModelFormatException>(() =>
            MarianOnnxModel.CreateWithFallback(Encoder, options, o => OnnxSessions.Create([1, 2, 3], o)));
        Assert.Contains("encoder_model.onnx", e.Message);
        Assert.Equal(GraphOptimizationLevel.ORT_ENABLE_ALL, options.GraphOptimizationLevel);
    }

    [Fact]
    public void GraphWithAnOperatorTheCpuHasNoKernelForIsRefusedAsNotServed()
    {
        // BitShift on uint16: in the ONNX schema, without a CPU kernel (as a variant written for another execution
        // provider would be).
        var tensor = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Uint16 } };
        var model = new ModelProto
        {
            IrVersion = 8,
            OpsetImport = { new OperatorSetIdProto { Domain = "", Version = 14 } },
            Graph = new GraphProto
            {
                Name = "g",
                Node = { new NodeProto { OpType = "BitShift", Input = { "x", "y" }, Output = { "z" },
                    Attribute = { new AttributeProto { Name = "direction", Type = AttributeProto.Types.AttributeType.String,
                        S = ByteString.CopyFromUtf8("LEFT") } } } },
                Input = { new ValueInfoProto { Name = "x", Type = tensor }, new ValueInfoProto { Name = "y", Type = tensor } },
                Output = { new ValueInfoProto { Name = "z", Type = tensor } },
            },
        };
        var path = Path.Combine(Directory.CreateTempSubdirectory("no-kernel-").FullName, "encoder_model_int4.onnx");
        try
        {
            File.WriteAllBytes(path, model.ToByteArray());
            using var options = Options();
            var e = Assert.Throws<ModelFormatException>(() =>
                MarianOnnxModel.CreateWithFallback(path, options, o => OnnxSessions.Create(path, o)));
            Assert.StartsWith("encoder_model_int4.onnx is not served: ONNX Runtime's CPU provider has no kernel", e.Message);
            Assert.Contains("BitShift", e.Message);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }
}
