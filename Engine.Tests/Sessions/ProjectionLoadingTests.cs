using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Engine.Onnx;
using ServerlessInference.Engine.Sessions;

namespace ServerlessInference.Engine.Tests.Sessions;

/// <summary>
/// How the split output projection is loaded: the decoder rewritten as a skeleton whose weights stay in the file,
/// W read (and, for a constant-folded export, transposed) from the file, the 4-bit copy quantised in parallel.
/// </summary>
public sealed class ProjectionLoadingTests
{
    private static readonly MarianModelFolder Shipped = MarianModelFolder.Read(RepoPaths.ShippedModel);

    /// <summary>The quantiser as it was first written (one row after another, one weight at a time).</summary>
    private static BlockQuantizer.Result ScalarReference(float[] weights, int rows, int columns)
    {
        const int blockSize = BlockQuantizer.BlockSize;
        int blocks = columns / blockSize;
        var packed = new byte[rows * blocks * blockSize / 2];
        var scales = new float[rows * blocks];
        var errorNorm = new float[rows];
        var quantizedNorm = new float[rows];
        for (int v = 0; v < rows; v++)
        {
            double error = 0;
            double quantized = 0;
            for (int b = 0; b < blocks; b++)
            {
                var block = weights.AsSpan(v * columns + b * blockSize, blockSize);
                float absMax = 0;
                foreach (var x in block)
                {
                    absMax = MathF.Max(absMax, MathF.Abs(x));
                }

                float scale = absMax > 0 ? absMax / 7f : 1f;
                scales[v * blocks + b] = scale;
                for (int i = 0; i < blockSize; i++)
                {
                    int level = Math.Clamp((int)MathF.Round(block[i] / scale) + 8, 0, 15);
                    float dequantized = (level - 8) * scale;
                    error += Math.Pow(block[i] - (double)dequantized, 2);
                    quantized += (double)dequantized * dequantized;
                    int at = (v * blocks + b) * blockSize / 2 + i / 2;
                    packed[at] |= (byte)(i % 2 == 0 ? level : level << 4);
                }
            }

            errorNorm[v] = (float)Math.Sqrt(error) * 1.001f;
            quantizedNorm[v] = (float)Math.Sqrt(quantized) * 1.001f;
        }

        return new BlockQuantizer.Result(packed, scales, errorNorm, quantizedNorm);
    }

    private static void AssertSameQuantization(float[] weights, int rows, int columns)
    {
        var expected = ScalarReference(weights, rows, columns);
        var actual = BlockQuantizer.Quantize(weights, rows, columns);
        Assert.True(expected.Packed.AsSpan().SequenceEqual(actual.Packed), "packed levels differ");
        Assert.True(expected.Scales.AsSpan().SequenceEqual(actual.Scales), "scales differ");
        Assert.True(expected.ErrorNorm.AsSpan().SequenceEqual(actual.ErrorNorm), "error norms differ");
        Assert.True(expected.QuantizedNorm.AsSpan().SequenceEqual(actual.QuantizedNorm), "quantised norms differ");
    }

    [Fact]
    public void ParallelVectorisedQuantiserEqualsTheScalarOneOnTheShippedProjection()
    {
        var split = DecoderGraph.TrySplitOutputProjection(Shipped.MergedDecoderPath!, Shipped.VocabSize, 256)!;
        AssertSameQuantization(split.Weights.Weights, split.Weights.Vocab, split.Weights.Hidden);
    }

    [Fact]
    public void MergedDecoderWeightsTransposedInBothBranchesAreTransposedOnceInTheOuterGraph()
    {
        // The shipped decoder is an export without constant folding: both If branches transpose the Linear weights.
        static int BranchTransposes(ModelProto m) => m.Graph.Node.Single(n => n.OpType == "If").Attribute
            .Where(a => a.G is not null)
            .Sum(a => a.G.Node.Count(n => n.OpType == "Transpose" && m.Graph.Initializer.Any(t => t.Name == n.Input[0])));
        var original = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Shipped.MergedDecoderPath!));
        Assert.True(BranchTransposes(original) > 20);

        var split = ModelProto.Parser.ParseFrom(
            DecoderGraph.TrySplitOutputProjection(Shipped.MergedDecoderPath!, Shipped.VocabSize, 256)!.Model);

        Assert.Equal(0, BranchTransposes(split));
        var outer = split.Graph.Node.TakeWhile(n => n.OpType != "If").Where(n => n.OpType == "Transpose").ToList();
        Assert.NotEmpty(outer);
        Assert.Equal(outer.Count, outer.Select(n => n.Input[0]).Distinct().Count());   // one per weight
        // Every hoisted value is read by a branch (and the translations stay those of the fixtures: ReferenceParityTests).
        var read = split.Graph.Node.Single(n => n.OpType == "If").Attribute.Where(a => a.G is not null)
            .SelectMany(a => a.G.Node).SelectMany(n => n.Input).ToHashSet();
        Assert.All(outer, n => Assert.Contains(n.Output[0], read));
    }

    [Fact]
    public void ParallelVectorisedQuantiserEqualsTheScalarOneOnZeroBlocksTiesAndWideRanges()
    {
        var random = new Random(5);
        int rows = 1001, columns = 96;
        var weights = new float[rows * columns];
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] = (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-6, 4)));
        }

        weights.AsSpan(5 * columns, columns).Clear();                // a zero row
        weights.AsSpan(7 * columns + 32, 32).Clear();                // a zero block
        for (int i = 0; i < 32; i++)
        {
            weights[9 * columns + i] = (i % 15 - 7) * 0.5f;          // exact halves of the scale: ties to even
        }

        AssertSameQuantization(weights, rows, columns);
    }

    [Fact]
    public void TiledTransposeEqualsTheElementwiseOne()
    {
        foreach (var (rows, columns) in new[] { (1, 1), (3, 70), (64, 33), (97, 31) })
        {
            var source = Enumerable.Range(0, rows * columns).Select(i => (float)i).ToArray();
            var actual = DecoderGraph.Transposed(source, rows, columns);
            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < columns; c++)
                {
                    Assert.Equal(source[r * columns + c], actual[c * rows + r]);
                }
            }
        }
    }

    [Fact]
    public void MergedDecoderWithCacheBranchNoLongerCopiesTheCrossAttentionCacheItWasGiven()
    {
        // Branch outputs that are Identity copies of a past_key_values.*.encoder.* input of the outer graph.
        static List<string> Passthroughs(ModelProto m)
        {
            var inputs = m.Graph.Input.Select(i => i.Name).ToHashSet();
            return m.Graph.Node.Single(n => n.OpType == "If").Attribute.Where(a => a.G is not null)
                .SelectMany(a => a.G.Node.Where(n => n.OpType == "Identity" && inputs.Contains(n.Input[0])
                    && n.Input[0].Contains(".encoder.", StringComparison.Ordinal) && a.G.Output.Any(o => o.Name == n.Output[0])))
                .Select(n => n.Output[0]).ToList();
        }

        var original = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Shipped.MergedDecoderPath!));
        var copies = Passthroughs(original);
        Assert.Equal(2 * Shipped.DecoderLayers, copies.Count);

        var split = ModelProto.Parser.ParseFrom(
            DecoderGraph.TrySplitOutputProjection(Shipped.MergedDecoderPath!, Shipped.VocabSize, 256)!.Model);

        Assert.Empty(Passthroughs(split));
        // Each becomes an empty constant of the input's element type and rank; the branch keeps its outputs.
        var branchNodes = split.Graph.Node.Single(n => n.OpType == "If").Attribute.Where(a => a.G is not null)
            .SelectMany(a => a.G.Node).ToList();
        Assert.All(copies, name =>
        {
            var constant = Assert.Single(branchNodes, n => n.Output.Contains(name));
            Assert.Equal("Constant", constant.OpType);
            var value = constant.Attribute.Single(a => a.Name == "value").T;
            Assert.Equal((int)TensorProto.Types.DataType.Float, value.DataType);
            Assert.Equal(4, value.Dims.Count);
            Assert.Contains(0L, value.Dims);
        });
        // The cache the engine feeds back stays what the first step computed (ReferenceParityTests: same translations).
    }

    [Fact]
    public void SkeletonKeepsTheLargeWeightsInTheFileAndRunsLikeTheFile()
    {
        var skeleton = ExternalWeights.ReadSkeleton(Shipped.EncoderPath);
        Assert.True(skeleton.Length < new FileInfo(Shipped.EncoderPath).Length / 20, $"skeleton of {skeleton.Length} bytes");
        var model = ModelProto.Parser.ParseFrom(skeleton);
        Assert.Contains(model.Graph.Initializer, t => t.DataLocation == TensorProto.Types.DataLocation.External);

        using var plain = new SessionOptions { IntraOpNumThreads = 1 };
        using var external = new SessionOptions { IntraOpNumThreads = 1 };
        external.AddSessionConfigEntry(DecoderGraph.ExternalDataFolderKey, Path.GetDirectoryName(Shipped.EncoderPath)!);
        using var fromFile = new InferenceSession(Shipped.EncoderPath, plain);
        using var fromSkeleton = new InferenceSession(skeleton, external);
        using var ids = OrtValue.CreateTensorValueFromMemory(new long[] { 10, 200, 3000, 0, 11, 0 }, [2, 3]);
        using var mask = OrtValue.CreateTensorValueFromMemory(new long[] { 1, 1, 1, 1, 1, 0 }, [2, 3]);
        using var run = new RunOptions();
        using var expected = fromFile.Run(run, ["input_ids", "attention_mask"], [ids, mask], ["last_hidden_state"])[0];
        using var actual = fromSkeleton.Run(run, ["input_ids", "attention_mask"], [ids, mask], ["last_hidden_state"])[0];
        Assert.True(expected.GetTensorDataAsSpan<float>().SequenceEqual(actual.GetTensorDataAsSpan<float>()));
    }

    [Fact]
    public void TruncatedModelFileIsLeftToOnnxRuntime()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var truncated = Path.Combine(dir.FullName, "decoder_model_merged.onnx");
            var bytes = File.ReadAllBytes(Shipped.MergedDecoderPath!);
            File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
            Assert.Null(DecoderGraph.TrySplitOutputProjection(truncated, Shipped.VocabSize, 256));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>
    /// The shipped model folder with its merged decoder rewritten as a constant-folding export writes it: lm_head's
    /// weight as its own [hidden, vocab] initializer instead of a Transpose of the tied embedding.
    /// </summary>
    private static DirectoryInfo FoldedCopy()
    {
        var dir = Directory.CreateTempSubdirectory();
        var target = Directory.CreateDirectory(Path.Combine(dir.FullName, "folded"));
        foreach (var file in Directory.EnumerateFiles(RepoPaths.ShippedModel))
        {
            File.Copy(file, Path.Combine(target.FullName, Path.GetFileName(file)));
        }

        var onnx = Directory.CreateDirectory(Path.Combine(target.FullName, "onnx"));
        File.Copy(Shipped.EncoderPath, Path.Combine(onnx.FullName, Path.GetFileName(Shipped.EncoderPath)));
        ModelProto model;
        using (var file = File.OpenRead(Shipped.MergedDecoderPath!))
        {
            model = ModelProto.Parser.ParseFrom(file);
        }

        var initializers = model.Graph.Initializer.ToDictionary(t => t.Name);
        var branches = model.Graph.Node.Single(n => n.OpType == "If").Attribute.Select(a => a.G).ToList();
        int folded = 0;
        foreach (var branch in branches)
        {
            var transpose = branch.Node.Single(n => n.OpType == "Transpose" && initializers.TryGetValue(n.Input[0], out var w)
                && w.Dims.SequenceEqual([(long)Shipped.VocabSize, 256L]));
            var embedding = initializers[transpose.Input[0]];
            if (!initializers.ContainsKey("lm_head_folded"))
            {
                var values = MemoryMarshal.Cast<byte, float>(embedding.RawData.Span).ToArray();
                var transposed = DecoderGraph.Transposed(values, Shipped.VocabSize, 256);
                var tensor = new TensorProto
                {
                    Name = "lm_head_folded",
                    DataType = (int)TensorProto.Types.DataType.Float,
                    Dims = { 256L, Shipped.VocabSize },
                    RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(transposed.AsSpan())),
                };
                model.Graph.Initializer.Add(tensor);
                initializers[tensor.Name] = tensor;
            }

            foreach (var node in branch.Node.Where(n => n.OpType == "MatMul" && n.Input[1] == transpose.Output[0]))
            {
                node.Input[1] = "lm_head_folded";
                folded++;
            }

            branch.Node.Remove(transpose);
        }

        Assert.Equal(2, folded);
        File.WriteAllBytes(Path.Combine(onnx.FullName, "decoder_model_merged.onnx"), model.ToByteArray());
        return target;
    }

    [Fact]
    public async Task ConstantFoldedExportSplitsToTheSameWeightsAndTranslatesIdentically()
    {
        var folded = FoldedCopy();
        try
        {
            var folder = MarianModelFolder.Read(folded.FullName);
            var fromFolded = DecoderGraph.TrySplitOutputProjection(folder.MergedDecoderPath!, folder.VocabSize, 256)!;
            var fromTied = DecoderGraph.TrySplitOutputProjection(Shipped.MergedDecoderPath!, Shipped.VocabSize, 256)!;
            Assert.True(fromFolded.Weights.Source!.Folded);
            Assert.False(fromTied.Weights.Source!.Folded);
            Assert.True(fromFolded.Weights.SameAs(fromTied.Weights));
            // The folded matrix is no longer needed by the decoder and is not kept in its graph.
            Assert.DoesNotContain(ModelProto.Parser.ParseFrom(fromFolded.Model).Graph.Initializer, t => t.Name == "lm_head_folded");

            var sentences = File.ReadLines(RepoPaths.DevSet).Take(24).Select(l => l.Split('\t')[0]).ToArray();
            using var expected = Translator.Load("tied", RepoPaths.ShippedModel, new EngineOptions { IntraOpThreads = 1 });
            using var actual = Translator.Load("folded", folded.FullName, new EngineOptions { IntraOpThreads = 1 });
            foreach (var beams in new[] { 1, 4 })
            {
                var options = new TranslationRequest([]) { Beams = beams };
                var a = await expected.TranslateAsync(options with { Texts = sentences });
                var b = await actual.TranslateAsync(options with { Texts = sentences });
                Assert.Equal(a.Translations.Select(t => t.OutputIds), b.Translations.Select(t => t.OutputIds));
            }
        }
        finally
        {
            folded.Parent!.Delete(recursive: true);
        }
    }
}
