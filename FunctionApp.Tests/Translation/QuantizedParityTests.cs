using ServerlessInference.Translation;

namespace ServerlessInference.Tests.Translation;

/// <summary>
/// The shipped model's quantized variants held to transformers.js loading the same files (<c>dtype: 'q4'</c>, …) on all
/// 500 dev sentences. Compared at batch 1, as transformers.js generates them: the dynamic 8-bit variants quantize
/// activations with one scale per tensor, so a batched row's output depends on the other rows of its batch (in either
/// engine), while MatMulNBits quantizes per row.
/// </summary>
public sealed class QuantizedParityTests
{
    [Theory]
    [InlineData("q4")]
    [InlineData("q8")]
    public async Task GreedyAtBatchOneMatchesTransformersJsOnTheSameVariantOnEveryDevSentence(string dtype)
    {
        var expected = ReferenceCase.Read($"transformersjs-greedy-{dtype}.jsonl");
        Assert.Equal(500, expected.Count);
        using var translator = MarianTranslator.Load(RepoPaths.ShippedModelName, RepoPaths.ShippedModel,
            new MarianTranslatorOptions { IntraOpThreads = 1 }, dtype);
        var mismatches = new List<string>();
        foreach (var c in expected)
        {
            var result = await translator.TranslateAsync([c.Source], new TranslationOptions { Beams = 1 });
            if (!result.Translations[0].OutputIds.SequenceEqual(c.Ids))
            {
                mismatches.Add($"{c.Index}: {c.Source}");
            }
        }

        Assert.Empty(mismatches);
    }

    [Fact]
    public async Task FourBitGreedyOutputDoesNotDependOnTheBatchItRunsIn()
    {
        var expected = ReferenceCase.Read("transformersjs-greedy-q4.jsonl");
        using var translator = MarianTranslator.Load(RepoPaths.ShippedModelName, RepoPaths.ShippedModel,
            new MarianTranslatorOptions { IntraOpThreads = 1 }, "q4");
        var result = await translator.TranslateAsync(expected.Select(c => c.Source).ToArray(), new TranslationOptions { Beams = 1 });
        var mismatches = expected.Where((c, i) => !result.Translations[i].OutputIds.SequenceEqual(c.Ids)).Select(c => c.Index);
        Assert.Empty(mismatches);
    }
}
