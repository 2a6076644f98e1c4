using System.Text.Json.Nodes;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Engine.Sessions;

namespace ServerlessInference.Engine.Tests.Sessions;

/// <summary>Counts the process's open ONNX Runtime sessions, so nothing else may load a model meanwhile.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SessionCountCollection
{
    public const string Name = "open session count";
}

[Collection(SessionCountCollection.Name)]
public sealed class SessionLeakTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "session-leak-" + Guid.NewGuid().ToString("N"));

    public SessionLeakTests()
    {
        foreach (var file in Directory.GetFiles(RepoPaths.ShippedModel, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(_folder, Path.GetRelativePath(RepoPaths.ShippedModel, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    [Fact]
    public void AGraphWhoseNamesDoNotMatchItsConfigLeavesNoSessionOpen()
    {
        // config.json claims one decoder layer more than the graphs have: every graph opens, then the decoder lacks
        // the inputs and outputs of the extra layer.
        var configPath = Path.Combine(_folder, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["decoder_layers"] = config["decoder_layers"]!.GetValue<int>() + 1;
        File.WriteAllText(configPath, config.ToJsonString());
        var before = OnnxSessions.Open;

        var e = Assert.Throws<ModelFormatException>(() => TranslationEngine.Load("leak", _folder));

        Assert.Contains("is not an Optimum Marian export", e.Message);
        Assert.Equal(before, OnnxSessions.Open);
    }

    [Fact]
    public void ACorruptSentencePieceModelIsAModelFormatErrorAndLeavesNoSessionOpen()
    {
        // Protobuf's parse error is an IOException, which the tokenizer otherwise lets through as a read failure.
        File.WriteAllBytes(Path.Combine(_folder, "source.spm"), [1, 2, 3]);
        var before = OnnxSessions.Open;

        var e = Assert.Throws<ModelFormatException>(() => TranslationEngine.Load("leak", _folder));

        Assert.Contains("source.spm is not a SentencePiece model", e.Message);
        Assert.Equal(before, OnnxSessions.Open);
    }

    [Theory]
    [InlineData("encoder_model.onnx")]
    [InlineData("decoder_model_merged.onnx")]
    public void AGraphThatIsNotOnnxIsAModelFormatErrorAndTheSessionsOpenedBesideItAreClosed(string graph)
    {
        // The encoder and the decoder chain load at once: whichever file is broken, the other part's sessions (and
        // the output projection's) have opened by the time the load fails.
        File.WriteAllBytes(Path.Combine(_folder, "onnx", graph), [0xff, 0xff, 0xff, 0xff]);
        var before = OnnxSessions.Open;

        var e = Assert.Throws<ModelFormatException>(() => TranslationEngine.Load("leak", _folder));

        Assert.StartsWith(graph, e.Message, StringComparison.Ordinal);
        Assert.Equal(before, OnnxSessions.Open);
    }

    [Fact]
    public void ALoadedEngineClosesEverySessionItOpenedWhenDisposed()
    {
        var before = OnnxSessions.Open;
        var engine = TranslationEngine.Load("counted", _folder);
        Assert.True(OnnxSessions.Open > before);

        engine.Dispose();

        Assert.Equal(before, OnnxSessions.Open);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
