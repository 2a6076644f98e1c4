using Microsoft.ML.OnnxRuntime;
using ServerlessInference.Engine.Batching;

namespace ServerlessInference.Engine.Tests;

[Collection(ShippedModelCollection.Name)]
public sealed class TranslationEngineTests(ShippedModelFixture model)
{
    private Translator Translator => model.Translator;

    [Fact]
    public void ShippedEncoderLoadsInOnnxRuntimeAndReturnsOneDModelVectorPerToken()
    {
        using var session = new InferenceSession(Path.Combine(RepoPaths.ShippedModel, "onnx", "encoder_model.onnx"));
        long[] ids = [10, 20, 30, 0];
        using var input = OrtValue.CreateTensorValueFromMemory(ids, [1, 4]);
        using var mask = OrtValue.CreateTensorValueFromMemory(new long[] { 1, 1, 1, 1 }, [1, 4]);
        using var outputs = session.Run(new RunOptions(), ["input_ids", "attention_mask"], [input, mask], ["last_hidden_state"]);
        Assert.Equal([1L, 4L, 256L], outputs[0].GetTensorTypeAndShape().Shape);
    }

    [Fact]
    public async Task SimpleSentencesBecomeChinese()
    {
        var result = await Translator.TranslateAsync(new TranslationRequest(["I love you.", "Where is the station?"]));
        Assert.All(result.Translations, t => Assert.Contains(t.Text, c => c >= '\u4e00' && c <= '\u9fff'));
        Assert.All(result.Translations, t => Assert.True(t.InputTokens > 2 && t.OutputTokens > 1));
        Assert.True(result.OnnxRuntime > TimeSpan.Zero && result.OnnxRuntime <= result.Elapsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\n\t\r\n")]
    [InlineData("\u0001\u0002\u007f")]
    public async Task EmptyOrBlankTextTranslatesToEmptyWithoutRunningTheModel(string text)
    {
        var result = await Translator.TranslateAsync(new TranslationRequest([text]));
        Assert.Equal(new ServerlessInference.Engine.Translation("", 0, 0, []).Text, result.Translations[0].Text);
        Assert.Equal(0, result.Translations[0].InputTokens);
        Assert.Equal(0, result.Translations[0].OutputTokens);
    }

    [Theory]
    [InlineData("I like 😀 and ☃.")]
    [InlineData("Tom\u0000 is\u0007 here.")]
    [InlineData("Ω≈ç√∫ ฿ ᚠ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢")]
    public async Task OddCharactersStillTranslate(string text)
    {
        var result = await Translator.TranslateAsync(new TranslationRequest([text]) { Beams = 1 });
        Assert.NotEmpty(result.Translations[0].Text);
    }

    [Fact]
    public async Task LoneSurrogatesTranslateLikeUnknownCharacters()
    {
        var text = "Lone " + '\ud800' + " surrogate and " + '\udc00' + " another.";
        var result = await Translator.TranslateAsync(new TranslationRequest([text]) { Beams = 1 });
        Assert.NotEmpty(result.Translations[0].Text);
    }

    [Fact]
    public void ARunOfUnknownCharactersIsOnePieceAsSpmEncodePrintsIt()
    {
        // spm_encode --output_format=piece: ▁I ▁love ▁ 中国 ▁a nd ▁ 😀 .
        Assert.Equal(["▁I", "▁love", "▁", "中国", "▁a", "nd", "▁", "😀", "."], Translator.Tokenizer.Pieces("I love 中国 and 😀."));
    }

    [Fact]
    public void CharactersTheVocabularyLacksBecomeUnk()
    {
        var ids = Translator.Tokenizer.Encode("😀");
        Assert.Contains(Translator.Tokenizer.UnkId, ids);
        Assert.Equal(Translator.Tokenizer.EosId, ids[^1]);
    }

    [Fact]
    public async Task HundredKilobytesWithoutSentenceBreaksIsCutIntoModelSizedPieces()
    {
        var text = string.Concat(Enumerable.Repeat("tom likes apples and ", 5000)); // 105 kB, one "sentence"
        var result = await Translator.TranslateAsync(new TranslationRequest([text]) { Beams = 1, MaxNewTokens = 4 });
        var t = result.Translations[0];
        Assert.True(t.InputTokens > 10 * Translator.Engine.MaxInputTokens);
        int pieces = (int)Math.Ceiling((t.InputTokens - 1.0) / (Translator.Engine.MaxInputTokens - 1));
        Assert.InRange(t.OutputTokens, pieces, 4 * (pieces + 2));
    }

    [Fact]
    public async Task SentencesOfATextAreTranslatedSeparatelyAndParagraphsAreKept()
    {
        var result = await Translator.TranslateAsync(new TranslationRequest(["I am happy. You are sad.\n\nHe is tall."]) { Beams = 1 });
        var separate = await Translator.TranslateAsync(
            new TranslationRequest(["I am happy.", "You are sad.", "He is tall."]) { Beams = 1 });
        var s = separate.Translations.Select(t => t.Text).ToArray();
        Assert.Equal($"{s[0]}{s[1]}\n\n{s[2]}", result.Translations[0].Text);
    }

    [Theory]
    [InlineData(0, null)]
    [InlineData(99, null)]
    [InlineData(1, 0)]
    [InlineData(1, 100000)]
    public async Task OutOfRangeOptionsAreRejectedWithAClearMessage(int beams, int? maxNewTokens)
    {
        var e = await Assert.ThrowsAsync<InvalidRequestException>(() =>
            Translator.TranslateAsync(new TranslationRequest(["Hi."]) { Beams = beams, MaxNewTokens = maxNewTokens }));
        Assert.Contains(maxNewTokens is null ? "beams" : "maxNewTokens", e.Message);
    }

    [Fact]
    public async Task MaxNewTokensCapsTheOutputAndEndsItWithEos()
    {
        var text = "This is a rather long sentence that needs many tokens to translate.";
        var result = await Translator.TranslateAsync(new TranslationRequest([text]) { Beams = 1, MaxNewTokens = 3 });
        var ids = result.Translations[0].OutputIds;
        Assert.InRange(ids.Count, 1, 3);
        Assert.Equal(Translator.Tokenizer.EosId, ids[^1]);
    }

    [Fact]
    public async Task ConcurrentCallersShareTheSessionsAndGetTheSameResultsAsOneCaller()
    {
        var texts = model.Greedy.Take(40).Select(c => c.Source).ToArray();
        var alone = await Translator.TranslateAsync(new TranslationRequest(texts) { Beams = 2 });
        var concurrent = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            Translator.TranslateAsync(new TranslationRequest(texts) { Beams = 2 })));
        Assert.All(concurrent, r => Assert.Equal(alone.Translations.Select(t => t.Text), r.Translations.Select(t => t.Text)));
    }

    [Fact]
    public async Task ACancelledCallStopsWithOperationCancelled()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Translator.TranslateAsync(new TranslationRequest(["Hello."]), cts.Token));
    }
}
