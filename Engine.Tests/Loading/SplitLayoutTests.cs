using ServerlessInference.Engine.Batching;
using ServerlessInference.Engine.Loading;

namespace ServerlessInference.Engine.Tests.Loading;

/// <summary>Older Optimum exports have decoder_model.onnx + decoder_with_past_model.onnx and no merged decoder. A
/// micro model exported in that layout by the same scripts is held to PyTorch greedy decoding of its checkpoint.</summary>
public sealed class SplitLayoutTests
{
    private static readonly string Folder = Path.Combine(RepoPaths.Fixtures, "marian-micro-split");

    [Fact]
    public void SplitFolderIsReadAsDecoderPlusDecoderWithPast()
    {
        var folder = MarianModelFolder.Read(Folder);
        Assert.Null(folder.MergedDecoderPath);
        Assert.EndsWith("decoder_model.onnx", folder.DecoderPath);
        Assert.EndsWith("decoder_with_past_model.onnx", folder.DecoderWithPastPath);
    }

    [Fact]
    public async Task SplitDecodersMatchPyTorchGreedyAloneAndBatched()
    {
        var reference = ReferenceCase.Read("pytorch-greedy.jsonl", Folder);
        using var translator = Translator.Load("micro", Folder, EngineOptions.Default.WithoutGuardrails());
        var batched = await translator.TranslateAsync(new TranslationRequest(reference.Select(c => c.Source).ToArray()) { Beams = 1 });
        for (int i = 0; i < reference.Count; i++)
        {
            var alone = await translator.TranslateAsync(new TranslationRequest([reference[i].Source]) { Beams = 1 });
            Assert.Equal(reference[i].Ids, alone.Translations[0].OutputIds);
            Assert.Equal(reference[i].Ids, batched.Translations[i].OutputIds);
        }
    }
}
