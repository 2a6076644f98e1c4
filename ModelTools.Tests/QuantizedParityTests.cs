using ServerlessInference.Engine;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Tests.Support;

namespace ServerlessInference.ModelTools.Tests;

/// <summary>
/// The shipped model's quantized variants held to transformers.js loading the same files (<c>dtype: 'q4'</c>, …) on all
/// 500 dev sentences. Compared at batch 1, as transformers.js generates them: the dynamic 8-bit variants quantize
/// activations with one scale per tensor, so a batched row's output depends on the other rows of its batch (in either
/// engine), while MatMulNBits quantizes per row.
/// </summary>
public sealed class QuantizedParityTests(TransformersJsVariantsFixture variants, Q8BlockwiseVariantsFixture nbits)
    : IClassFixture<TransformersJsVariantsFixture>, IClassFixture<Q8BlockwiseVariantsFixture>
{
    /// <summary>
    /// Every variant transformers.js' quantize.py writes, as this repo's tools write it from the shipped fp32 graphs
    /// (<see cref="TransformersJsVariants"/>), held to transformers.js 4.3.1 loading the same files on all 500 dev
    /// sentences: Xenova's q8 (int8 per channel, reduce_range, quantized Gather), int8, uint8, q4, q4f16 and bnb4.
    /// fp16 is the converter the test below holds already.
    /// </summary>
    [Theory]
    [InlineData("q8")]
    [InlineData("int8")]
    [InlineData("uint8")]
    [InlineData("q4")]
    [InlineData("q4f16")]
    [InlineData("bnb4")]
    public async Task TransformersJsRecipesMatchTransformersJsOnTheSameFiles(string dtype)
    {
        Assert.Empty(await MismatchesAtBatchOne(variants.Folder, dtype, $"transformersjs-greedy-tjs-{dtype}.jsonl"));
    }

    [Theory]
    [InlineData("q4")]
    [InlineData("q8")]
    public async Task GreedyAtBatchOneMatchesTransformersJsOnTheSameVariantOnEveryDevSentence(string dtype)
    {
        Assert.Empty(await MismatchesAtBatchOne(RepoPaths.ShippedModel, dtype, $"transformersjs-greedy-{dtype}.jsonl"));
    }

    /// <summary>
    /// The batch-invariant 8-bit recipe (<c>tools/Quantize --dtype q8</c>: MatMulNBits, 8 bits, accuracy_level 4),
    /// written under the q8 name, loads in transformers.js as <c>dtype: 'q8'</c> and gives the same greedy ids on every
    /// dev sentence. Fixture: <c>node fixtures.mjs &lt;copy&gt; &lt;out&gt; q8</c> on the variant's folder.
    /// </summary>
    [Fact]
    public async Task EightBitMatMulNBitsRecipeMatchesTransformersJsOnTheSameFiles()
    {
        Assert.Empty(await MismatchesAtBatchOne(nbits.Folder("default"), "q8", "transformersjs-greedy-q8-recipe.jsonl"));
    }

    /// <summary>The fixture's sentences, one at a time, whose greedy ids differ from the fixture's.</summary>
    private static async Task<List<string>> MismatchesAtBatchOne(string modelDirectory, string dtype, string fixture)
    {
        var expected = ReferenceCase.Read(fixture);
        Assert.Equal(500, expected.Count);
        using var translator = Translator.Load(RepoPaths.ShippedModelName, modelDirectory,
            new EngineOptions { IntraOpThreads = 1 }.WithoutGuardrails(), dtype);
        var mismatches = new List<string>();
        foreach (var c in expected)
        {
            var result = await translator.TranslateAsync(new TranslationRequest([c.Source]) { Beams = 1 });
            if (!result.Translations[0].OutputIds.SequenceEqual(c.Ids))
            {
                mismatches.Add($"{c.Index}: {c.Source}");
            }
        }

        return mismatches;
    }

    [Fact]
    public async Task FourBitGreedyOutputDoesNotDependOnTheBatchItRunsIn()
    {
        var expected = ReferenceCase.Read("transformersjs-greedy-q4.jsonl");
        using var translator = Translator.Load(RepoPaths.ShippedModelName, RepoPaths.ShippedModel,
            new EngineOptions { IntraOpThreads = 1 }.WithoutGuardrails(), "q4");
        var result = await translator.TranslateAsync(new TranslationRequest(expected.Select(c => c.Source).ToArray()) { Beams = 1 });
        var mismatches = expected.Where((c, i) => !result.Translations[i].OutputIds.SequenceEqual(c.Ids)).Select(c => c.Index);
        Assert.Empty(mismatches);
    }

    /// <summary>
    /// Variants this repo's tools write from the shipped fp32 graphs (made here, in a temporary folder: the converters
    /// are deterministic), held to transformers.js loading the same files: the q4 recipe (output projection in blocks of
    /// 128, biases fused into MatMulNBits) and fp16 (float32 inputs and outputs, as transformers.js' own fp16 files).
    /// Fixtures: <c>tools/Quantize --dtype q4|fp16</c> on a copy of the model, then
    /// <c>node fixtures.mjs &lt;copy&gt; &lt;out&gt; q4|fp16</c>.
    /// </summary>
    [Theory]
    [InlineData("q4", "transformersjs-greedy-q4-recipe.jsonl")]
    [InlineData("fp16", "transformersjs-greedy-fp16-converted.jsonl")]
    public async Task VariantsWrittenByTheToolsMatchTransformersJsOnTheSameFiles(string dtype, string fixture)
    {
        var folder = Directory.CreateTempSubdirectory("variant-");
        try
        {
            var model = MarianModelFolder.Read(RepoPaths.ShippedModel);
            foreach (var file in Directory.GetFiles(RepoPaths.ShippedModel))
            {
                File.Copy(file, Path.Combine(folder.FullName, Path.GetFileName(file)));
            }

            var onnx = Directory.CreateDirectory(Path.Combine(folder.FullName, "onnx")).FullName;
            foreach (var graph in new[] { model.EncoderPath, model.MergedDecoderPath! })
            {
                var output = Path.Combine(onnx, Path.GetFileNameWithoutExtension(graph) + ModelDtype.Suffix(dtype) + ".onnx");
                if (dtype == "fp16")
                {
                    Float16Converter.ConvertFile(graph, output);
                }
                else
                {
                    ModelQuantizer.QuantizeFile(graph, output, new QuantizationSettings(WeightQuantization.Q4, AccuracyLevel: 4)
                    {
                        Vocab = model.VocabSize,
                        OutputProjectionBlockSize = ModelQuantizer.DefaultOutputProjectionBlockSize,
                        FuseBias = true,
                    });
                }
            }

            Assert.Empty(await MismatchesAtBatchOne(folder.FullName, dtype, fixture));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
