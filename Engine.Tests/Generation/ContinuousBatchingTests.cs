using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Engine.Generation;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Engine.Onnx;
using ServerlessInference.Engine.Sessions;

namespace ServerlessInference.Engine.Tests.Generation;

/// <summary>
/// Continuous batching: sources join a running decode between its steps, at their own positions, and leave as they
/// finish. Each source must get exactly the ids it gets alone (the references' ids, guardrails off): sources join
/// one to three at a time while up to 16 run, in file order, so rows at different positions and of different source
/// lengths share every step, and the cache is cut back as long sentences leave.
/// </summary>
[Collection(ShippedModelCollection.Name)]
public sealed class ContinuousBatchingTests(ShippedModelFixture model)
{
    [Fact]
    public void GreedySourcesJoiningARunningDecodeGetTheReferenceIdsOnEveryDevSentence()
    {
        var sources = model.Greedy.Select(c => c.SourceIds!).ToArray();
        var outputs = Staggered(model.Unguarded.Engine, sources, beams: 1, maxRunning: 16);
        Assert.Empty(Mismatches(model.Greedy, outputs));
    }

    [Fact]
    public void BeamFourSourcesJoiningARunningDecodeGetThePyTorchBeamIds()
    {
        var cases = model.Beam4.Take(200).ToArray();
        var sources = model.Greedy.Take(200).Select(c => c.SourceIds!).ToArray();
        var outputs = Staggered(model.Unguarded.Engine, sources, beams: 4, maxRunning: 8);
        Assert.Empty(Mismatches(cases, outputs));
    }

    [Fact]
    public void QuantizedFourBitSourcesJoiningARunningDecodeGetTheirTransformersJsIds()
    {
        // q4 keeps its output projection in the graph (no float32 split): the rewrite alone gives the positions.
        using var q4 = Translator.Load("q4", RepoPaths.ShippedModel, EngineOptions.Default.WithoutGuardrails(), "q4");
        var reference = ReferenceCase.Read("transformersjs-greedy-q4.jsonl").Take(200).ToArray();
        var sources = reference.Select(c => q4.Tokenizer.Encode(c.Source)).ToArray();
        Assert.Empty(Mismatches(reference, Staggered(q4.Engine, sources, beams: 1, maxRunning: 16)));
    }

    [Fact]
    public void SplitLayoutSourcesJoiningARunningDecodeGetThePyTorchIds()
    {
        var folder = Path.Combine(RepoPaths.Fixtures, "marian-micro-split");
        var reference = ReferenceCase.Read("pytorch-greedy.jsonl", folder);
        using var micro = Translator.Load("micro", folder, EngineOptions.Default.WithoutGuardrails());
        var sources = reference.Select(c => micro.Tokenizer.Encode(c.Source)).ToArray();
        Assert.Empty(Mismatches(reference, Staggered(micro.Engine, sources, beams: 1, maxRunning: 4)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("q4")]
    public void RowsAtTheCacheLengthGetTheExportsOutputsBitForBit(string? dtype)
    {
        // Three steps of one dev sentence through the graph as exported and as rewritten: logits and caches equal to the
        // bit (ONNX Runtime must fuse the rewritten graph as it fuses the export).
        var folder = MarianModelFolder.Read(RepoPaths.ShippedModel, dtype);
        using var exported = new MarianOnnxModel(folder, 0, splitOutputProjection: false, rowPositions: false);
        using var rewritten = new MarianOnnxModel(folder, 0, splitOutputProjection: false, rowPositions: true);
        Assert.False(exported.RowPositions);
        Assert.True(rewritten.RowPositions);
        var source = model.Greedy[243].SourceIds!;
        Assert.Equal(Steps(exported, source), Steps(rewritten, source));
    }

    /// <summary>The logits and the first layer's self-attention key of the first three greedy steps.</summary>
    private static List<float[]> Steps(MarianOnnxModel onnx, int[] source)
    {
        var folder = onnx.Folder;
        var seen = new List<float[]>();
        using var call = new InferenceCall(CancellationToken.None);
        using var ids = OrtValue.CreateTensorValueFromMemory(source.Select(x => (long)x).ToArray(), [1, source.Length]);
        using var mask = OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, source.Length).ToArray(), [1, source.Length]);
        using var hidden = onnx.Encode(ids, mask, call);
        using var empty = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float,
            [1, folder.DecoderHeads, 0, folder.HeadDim]);
        using var noCache = OrtValue.CreateTensorValueFromMemory(new[] { false }, [1]);
        using var withCache = OrtValue.CreateTensorValueFromMemory(new[] { true }, [1]);
        long token = folder.Generation.DecoderStartTokenId;
        DecoderStep? step = null;
        OrtValue[]? encoderKv = null;
        try
        {
            for (long position = 0; position < 3; position++)
            {
                using var input = OrtValue.CreateTensorValueFromMemory(new[] { token }, [1, 1]);
                using var positions = OrtValue.CreateTensorValueFromMemory(new[] { position }, [1, 1]);
                var next = step is null
                    ? onnx.DecodeFirst(input, mask, hidden, empty, noCache, positions, call)
                    : onnx.DecodeNext(input, mask, hidden, step.DecoderKv, encoderKv!, withCache, positions, call);
                encoderKv ??= next.EncoderKv;
                if (step is not null)
                {
                    Dispose(step);
                }

                step = next;
                var logits = step.Output.GetTensorDataAsSpan<float>().ToArray();
                seen.Add(logits);
                seen.Add(step.DecoderKv[0].GetTensorDataAsSpan<float>().ToArray());
                token = Array.IndexOf(logits, logits.Max());
            }
        }
        finally
        {
            if (step is not null)
            {
                Dispose(step);
            }

            foreach (var value in encoderKv ?? [])
            {
                value.Dispose();
            }
        }

        return seen;
    }

    private static void Dispose(DecoderStep step)
    {
        step.Output.Dispose();
        foreach (var value in step.DecoderKv)
        {
            value.Dispose();
        }
    }

    [Fact]
    public void WithContinuousBatchingOffTheEngineOffersNoContinuousDecode()
    {
        using var engine = TranslationEngine.Load("off", RepoPaths.ShippedModel,
            EngineOptions.Default with { ContinuousBatching = false });
        var settings = engine.Resolve(new TranslationRequest(["x"]));
        Assert.Null(engine.StartContinuous(settings, CancellationToken.None));
        using var on = model.Engine.StartContinuous(settings, CancellationToken.None);
        Assert.NotNull(on);
    }

    [Fact]
    public void AGraphWithoutTheDecoderCacheIsLeftAsItIs()
    {
        var encoder = ModelProto.Parser.ParseFrom(ExternalWeights.ReadSkeleton(
            Path.Combine(RepoPaths.ShippedModel, "onnx", "encoder_model.onnx")));
        var before = encoder.ToByteArray();
        Assert.False(DecoderRowPositions.TryRewrite(encoder, layers: 3));
        Assert.Equal(before, encoder.ToByteArray());
    }

    [Fact]
    public void ConcatPaddedPadsAndCutsTheAxisAndStacksRows()
    {
        // [2 rows, 2, 3 slots] and [1 row, 2, 1 slot], slots axis to 2: cut, then padded with zeros.
        using var a = OrtValue.CreateTensorValueFromMemory(Enumerable.Range(1, 12).Select(i => (float)i).ToArray(), [2, 2, 3]);
        using var b = OrtValue.CreateTensorValueFromMemory(new float[] { 100, 200 }, [1, 2, 1]);
        using var joined = DecoderCache.ConcatPadded([a, b], axis: 2, length: 2);
        Assert.Equal([3L, 2, 2], joined.GetTensorTypeAndShape().Shape);
        Assert.Equal([1f, 2, 4, 5, 7, 8, 10, 11, 100, 0, 200, 0], joined.GetTensorDataAsSpan<float>().ToArray());
    }

    /// <summary>Decodes <paramref name="sources"/> in one continuous decode: 1, 2 or 3 join at each step while fewer
    /// than <paramref name="maxRunning"/> run. Outputs in source order.</summary>
    private static int[][] Staggered(TranslationEngine engine, IReadOnlyList<int[]> sources, int beams, int maxRunning)
    {
        var settings = engine.Resolve(new TranslationRequest(["x"]) { Beams = beams });
        using var decode = engine.StartContinuous(settings, CancellationToken.None)
            ?? throw new InvalidOperationException("the decoder takes no row positions");
        var outputs = new int[sources.Count][];
        var owner = new Dictionary<int, int>();
        int next = 0;
        for (int step = 0; next < sources.Count || decode.Running > 0; step++)
        {
            int count = Math.Min(step % 3 + 1, sources.Count - next);
            if (count > 0 && decode.Running < maxRunning)
            {
                var numbers = decode.Join(sources.Skip(next).Take(count).ToArray());
                for (int i = 0; i < count; i++)
                {
                    owner[numbers[i]] = next + i;
                }

                next += count;
            }

            foreach (var done in decode.Step())
            {
                outputs[owner[done.Input]] = done.Ids;
            }
        }

        return outputs;
    }

    private static List<string> Mismatches(IReadOnlyList<ReferenceCase> cases, int[][] outputs) =>
        cases.Select((c, i) => (c, i)).Where(x => outputs[x.i] is null || !outputs[x.i].SequenceEqual(x.c.Ids))
            .Select(x => $"{x.c.Index}: {x.c.Source}").ToList();
}
