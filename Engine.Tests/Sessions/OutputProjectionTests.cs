using Microsoft.ML.OnnxRuntime;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Engine.Onnx;
using ServerlessInference.Engine.Sessions;

namespace ServerlessInference.Engine.Tests.Sessions;

/// <summary>The shipped decoder with its output projection split off, and the projection's sessions.</summary>
public sealed class SplitProjectionFixture : IDisposable
{
    public SplitProjectionFixture()
    {
        Folder = MarianModelFolder.Read(RepoPaths.ShippedModel);
        var split = DecoderGraph.TrySplitOutputProjection(Folder.MergedDecoderPath!, Folder.VocabSize, 256)
            ?? throw new InvalidOperationException("the shipped decoder was not split");
        (Model, Weights) = (split.Model, split.Weights);
        Options.AddSessionConfigEntry(DecoderGraph.ExternalDataFolderKey, split.Folder);
        Projection = new OutputProjection(Weights, Options);
    }

    public SessionOptions Options { get; } = new() { IntraOpNumThreads = 1 };
    public MarianModelFolder Folder { get; }
    public byte[] Model { get; }
    internal ProjectionWeights Weights { get; }
    internal OutputProjection Projection { get; }

    public void Dispose()
    {
        Projection.Dispose();
        Options.Dispose();
    }
}

public sealed class OutputProjectionTests(SplitProjectionFixture fixture) : IClassFixture<SplitProjectionFixture>
{
    private const int Hidden = 256;
    private static readonly int[] NoneBanned = [];

    [Fact]
    public void SplitDecoderOutputsTheHiddenStateAndTheProjectionGivesBackTheSameLogits()
    {
        var folder = fixture.Folder;
        using var original = new InferenceSession(folder.MergedDecoderPath!, fixture.Options);
        using var split = new InferenceSession(fixture.Model, fixture.Options);
        Assert.Contains(DecoderGraph.HiddenOutput, split.OutputMetadata.Keys);
        Assert.DoesNotContain("logits", split.OutputMetadata.Keys);

        // One first step (no cache) for two rows of a made-up source, through both graphs.
        var random = new Random(3);
        int rows = 2, srcLen = 5;
        var names = new List<string> { "input_ids", "encoder_attention_mask", "encoder_hidden_states" };
        var values = new List<OrtValue>
        {
            OrtValue.CreateTensorValueFromMemory(new long[] { folder.Generation.DecoderStartTokenId,
                folder.Generation.DecoderStartTokenId }, [rows, 1]),
            OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, rows * srcLen).ToArray(), [rows, srcLen]),
            OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0,
                rows * srcLen * Hidden).Select(_ => (float)random.NextDouble()).ToArray(), [rows, srcLen, Hidden]),
        };
        foreach (var part in new[] { "decoder", "encoder" })
        {
            for (int layer = 0; layer < folder.DecoderLayers; layer++)
            {
                foreach (var kind in new[] { "key", "value" })
                {
                    names.Add($"past_key_values.{layer}.{part}.{kind}");
                    values.Add(OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), [rows, folder.DecoderHeads, 0, folder.HeadDim]));
                }
            }
        }

        names.Add("use_cache_branch");
        values.Add(OrtValue.CreateTensorValueFromMemory(new[] { false }, [1]));
        using var run = new RunOptions();
        using var logits = original.Run(run, names, values, ["logits"])[0];
        using var hidden = split.Run(run, names, values, [DecoderGraph.HiddenOutput])[0];
        using var projected = fixture.Projection.Logits(hidden, run);

        Assert.Equal([rows, 1, Hidden], hidden.GetTensorTypeAndShape().Shape);
        var expected = logits.GetTensorDataAsSpan<float>();
        var actual = projected.GetTensorDataAsSpan<float>();
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4f, $"logit {i}: {expected[i]} vs {actual[i]}");
        }

        foreach (var v in values)
        {
            v.Dispose();
        }
    }

    /// <summary>Hidden states of the kinds decoding produces: diffuse (norm ~25 like the final layer norm's
    /// output), peaked on one token, and balanced between two tokens so the winner is decided by a hair.</summary>
    private float[][] HiddenStates()
    {
        var random = new Random(11);
        var w = fixture.Weights.Weights;
        float[] Gaussian(float sigma) => Enumerable.Range(0, Hidden)
            .Select(_ => sigma * (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())))
            .ToArray();
        var states = new List<float[]>();
        foreach (var sigma in new[] { 0.5f, 1.5f, 4f })
        {
            for (int i = 0; i < 40; i++)
            {
                states.Add(Gaussian(sigma));
            }
        }

        for (int i = 0; i < 60; i++)
        {
            int a = random.Next(fixture.Weights.Vocab), b = random.Next(fixture.Weights.Vocab);
            var noise = Gaussian(0.3f);
            var peaked = new float[Hidden];
            var tied = new float[Hidden];
            for (int d = 0; d < Hidden; d++)
            {
                peaked[d] = 40 * w[a * Hidden + d] + noise[d];
                tied[d] = 30 * (w[a * Hidden + d] + w[b * Hidden + d]) + 0.01f * noise[d];
            }

            states.Add(peaked);
            states.Add(tied);
        }

        return [.. states];
    }

    [Fact]
    public void EveryApproximateScoreLiesWithinItsBoundAndTheArgMaxIsTheFloat32One()
    {
        var projection = fixture.Projection;
        Assert.True(projection.HasApproximate);
        var states = HiddenStates();
        using var hidden = OrtValue.CreateTensorValueFromMemory(states.SelectMany(s => s).ToArray(), [states.Length, 1, Hidden]);
        using var run = new RunOptions();
        using var approximate = projection.ApproximateScores(hidden, run);
        var scores = approximate.GetTensorMutableDataAsSpan<float>();
        int vocab = projection.Vocab;
        for (int r = 0; r < states.Length; r++)
        {
            var h = states[r];
            var (a, c) = projection.BoundCoefficients(h);
            int expected = 0;
            float best = float.NegativeInfinity;
            for (int v = 0; v < vocab; v++)
            {
                float exact = projection.Logit(h, v);
                float error = Math.Abs(scores[r * vocab + v] - exact);
                Assert.True(error <= projection.ErrorBound(v, a, c),
                    $"state {r} token {v}: error {error} > bound {projection.ErrorBound(v, a, c)}");
                if (exact > best)
                {
                    (best, expected) = (exact, v);
                }
            }

            Assert.Equal(expected, projection.ArgMax(h, scores.Slice(r * vocab, vocab), NoneBanned));
        }
    }

    [Fact]
    public void ArgMaxSkipsABannedTokenEvenWhenItWouldWin()
    {
        var projection = fixture.Projection;
        var w = fixture.Weights.Weights;
        const int favourite = 1234;
        var h = Enumerable.Range(0, Hidden).Select(d => 40 * w[favourite * Hidden + d]).ToArray();
        using var hidden = OrtValue.CreateTensorValueFromMemory(h.ToArray(), [1, 1, Hidden]);
        using var run = new RunOptions();
        using var approximate = projection.ApproximateScores(hidden, run);

        Assert.Equal(favourite, projection.ArgMax(h, approximate.GetTensorMutableDataAsSpan<float>().ToArray(), NoneBanned));
        int runnerUp = Enumerable.Range(0, projection.Vocab).Where(v => v != favourite)
            .MaxBy(v => projection.Logit(h, v));
        Assert.Equal(runnerUp, projection.ArgMax(h, approximate.GetTensorMutableDataAsSpan<float>(), [favourite]));
    }

    [Fact]
    public void ModelSplitsTheProjectionUnlessToldNotTo()
    {
        var folder = fixture.Folder;
        using (var split = new MarianOnnxModel(folder, intraOpThreads: 1))
        {
            Assert.NotNull(split.Projection);
            Assert.True(split.Projection.HasApproximate);
        }

        using var graph = new MarianOnnxModel(folder, intraOpThreads: 1, splitOutputProjection: false);
        Assert.Null(graph.Projection);
    }

    [Fact]
    public async Task GraphLogitsAndSplitProjectionTranslateAlikeGreedyAndWithBeams()
    {
        var sentences = File.ReadLines(RepoPaths.DevSet).Take(40).Select(l => l.Split('\t')[0]).ToArray();
        using var split = Translator.Load("split", RepoPaths.ShippedModel, new EngineOptions { IntraOpThreads = 1 });
        using var graph = Translator.Load("graph", RepoPaths.ShippedModel,
            new EngineOptions { IntraOpThreads = 1, SplitOutputProjection = false });
        foreach (var beams in new[] { 1, 4 })
        {
            var options = new TranslationRequest([]) { Beams = beams };
            var expected = await graph.TranslateAsync(options with { Texts = sentences });
            var actual = await split.TranslateAsync(options with { Texts = sentences });
            Assert.Equal(expected.Translations.Select(t => t.OutputIds), actual.Translations.Select(t => t.OutputIds));
        }
    }

    [Fact]
    public void MicroSplitLayoutLosesItsProjectionInBothDecodersAlike()
    {
        var folder = MarianModelFolder.Read(Path.Combine(RepoPaths.Fixtures, "marian-micro-split"));
        var first = DecoderGraph.TrySplitOutputProjection(folder.DecoderPath!, folder.VocabSize, 64);
        var next = DecoderGraph.TrySplitOutputProjection(folder.DecoderWithPastPath!, folder.VocabSize, 64);
        Assert.NotNull(first);
        Assert.NotNull(next);
        Assert.Equal(first.Weights.Weights, next.Weights.Weights);
        Assert.Equal(first.Weights.Bias, next.Weights.Bias);
    }

    [Fact]
    public void GraphWithoutTheProjectionPatternOrNotOnnxAtAllIsLeftAlone()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var other = Path.Combine(dir.FullName, "identity.onnx");
            var model = new ModelProto
            {
                IrVersion = 8,
                OpsetImport = { new OperatorSetIdProto { Version = 17 } },
                Graph = new GraphProto
                {
                    Name = "g",
                    Node = { new NodeProto { OpType = "Identity", Input = { "x" }, Output = { "logits" } } },
                    Input = { new ValueInfoProto { Name = "x" } },
                    Output = { new ValueInfoProto { Name = "logits" } },
                },
            };
            File.WriteAllBytes(other, Google.Protobuf.MessageExtensions.ToByteArray(model));
            var garbage = Path.Combine(dir.FullName, "garbage.onnx");
            File.WriteAllText(garbage, "not a model");

            Assert.Null(DecoderGraph.TrySplitOutputProjection(other, 7933, 256));
            Assert.Null(DecoderGraph.TrySplitOutputProjection(garbage, 7933, 256));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
