using ServerlessInference.Engine.Batching;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Engine.Tokenization;

namespace ServerlessInference.Engine.Tests.Batching;

/// <summary>Texts to model inputs and generated ids back to translations, without running the model.</summary>
public sealed class TranslationPlanTests
{
    private static readonly MarianTokenizer Tokenizer = LoadTokenizer();

    private static MarianTokenizer LoadTokenizer()
    {
        var folder = MarianModelFolder.Read(RepoPaths.ShippedModel);
        return MarianTokenizer.Load(folder.SourceSpmPath, folder.VocabPath);
    }

    [Fact]
    public void EachSentenceBecomesOneInputInTextOrderAndBlankTextNone()
    {
        var plan = TranslationPlan.Create(["I am happy. You are sad.\n\nHe is tall.", "  \n ", "Hi."], Tokenizer, 512);

        Assert.Equal(4, plan.Inputs.Count);
        Assert.Equal(Tokenizer.Encode("I am happy."), plan.Inputs[0]);
        Assert.Equal(Tokenizer.Encode("He is tall."), plan.Inputs[2]);
        Assert.Equal(Tokenizer.Encode("Hi."), plan.Inputs[3]);
    }

    [Fact]
    public void GeneratedIdsGoBackToTheTextTheirInputCameFrom()
    {
        var plan = TranslationPlan.Create(["I am happy. You are sad.", "", "Hi."], Tokenizer, 512);
        int eos = Tokenizer.EosId;
        var outputs = plan.Inputs.Select((_, i) => new[] { 100 + i, eos }).ToArray();

        var translations = plan.Assemble(outputs);

        Assert.Equal(3, translations.Length);
        Assert.Equal([100, eos, 101, eos], translations[0].OutputIds);
        Assert.Equal(plan.Inputs[0].Length + plan.Inputs[1].Length, translations[0].InputTokens);
        Assert.Equal(4, translations[0].OutputTokens);
        Assert.Equal(("", 0, 0), (translations[1].Text, translations[1].InputTokens, translations[1].OutputTokens));
        Assert.Equal([102, eos], translations[2].OutputIds);
    }

    [Fact]
    public void AnOverlongSentenceIsCutIntoPiecesEndingInEosThatJoinIntoOneTranslation()
    {
        const int max = 5;
        var ids = Tokenizer.Encode("Tom likes apples and pears and plums and cherries.");
        Assert.True(ids.Length > 2 * max);
        var plan = TranslationPlan.Create(["Tom likes apples and pears and plums and cherries."], Tokenizer, max);

        Assert.True(plan.Inputs.Count > 2);
        Assert.All(plan.Inputs, piece => Assert.InRange(piece.Length, 2, max));
        Assert.All(plan.Inputs, piece => Assert.Equal(Tokenizer.EosId, piece[^1]));
        Assert.Equal(ids[..^1], plan.Inputs.SelectMany(piece => piece[..^1]));

        var translations = plan.Assemble(plan.Inputs);
        Assert.Single(translations);
        Assert.Equal(plan.Inputs.SelectMany(piece => piece), translations[0].OutputIds);
    }

    [Fact]
    public void AssemblingNeedsOneOutputPerInput()
    {
        var plan = TranslationPlan.Create(["Hi. Bye."], Tokenizer, 512);
        Assert.Throws<InvalidOperationException>(() => plan.Assemble([[1]]));
    }

    [Fact]
    public void EverySentenceAndEveryPieceOfALongOneStartsWithTheToken()
    {
        using var translator = Translator.Load("multi", Path.Combine(RepoPaths.Fixtures, "marian-micro-languages"));
        Assert.True(translator.Tokenizer.TryGetLanguageId("yue_Hant", out var code));
        var longSentence = string.Join(' ', Enumerable.Repeat("very", 300)) + ".";

        var plan = TranslationPlan.Create(["Hello. How are you?", longSentence], translator.Tokenizer, translator.Engine.MaxInputTokens,
            "yue_Hant");

        Assert.True(plan.Inputs.Count >= 4);
        Assert.All(plan.Inputs, ids =>
        {
            Assert.Equal(code, ids[0]);
            Assert.Equal(1, ids.Count(i => i == code));
            Assert.True(ids.Length <= translator.Engine.MaxInputTokens);
        });
    }
}
