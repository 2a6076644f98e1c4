using ServerlessInference.Engine.Batching;
using ServerlessInference.Tests.Support;

namespace ServerlessInference.Engine.Tests.Tokenization;

/// <summary>Text that SentencePiece's nmt_nfkc normalisation rewrites, much of it into far longer text (ﷺ becomes 18
/// characters, … three): the tokenizer must split it as spm_encode does, and never throw.</summary>
[Collection(ShippedModelCollection.Name)]
public sealed class NormalisationParityTests(ShippedModelFixture model)
{
    private static readonly string[] Cases = File.ReadAllLines(Path.Combine(RepoPaths.Fixtures, "spm-pieces-expanding.tsv"));

    public static TheoryData<int> Lines => new(Enumerable.Range(0, Cases.Length));

    [Theory]
    [MemberData(nameof(Lines))]
    public void SourcePiecesMatchSpmEncodeOnTextThatNormalisationRewrites(int line)
    {
        var columns = Cases[line].Split('\t');
        Assert.Equal(2, columns.Length);
        Assert.Equal(columns[1], string.Join(' ', model.Translator.Tokenizer.Pieces(columns[0])));
    }

    [Theory]
    [InlineData("\ufdfa", 2)]
    [InlineData("\u2026", 43)]
    [InlineData("\u2026", 200)]
    [InlineData("\ufb03", 50)]
    [InlineData("\u216b", 50)]
    [InlineData("\ufdfa", 300)]
    [InlineData("I said \ufdfa\u2026\ufb03\u216b\u337b\u3396\ufdfb\ufdf0 and ", 40)]
    public async Task TextThatNormalisationExpandsTranslates(string unit, int count)
    {
        var text = string.Concat(Enumerable.Repeat(unit, count));
        var result = await model.Translator.TranslateAsync(new TranslationRequest([text]) { Beams = 1, MaxNewTokens = 16 });
        var t = Assert.Single(result.Translations);
        Assert.True(t.InputTokens > count, $"{t.InputTokens} input tokens");
        Assert.True(t.OutputTokens > 0);
    }
}
