using ServerlessInference.Engine.Batching;
using ServerlessInference.Engine.Loading;

namespace ServerlessInference.Engine.Tests.Loading;

/// <summary>A Hugging Face-format Marian checkpoint (Fixtures/hf-marian-checkpoint: opus-mt-en-zh's config values,
/// pytorch_model.bin and model.safetensors, no tokenizer.json) converted by models/training/convert_checkpoint.py
/// (Fixtures/marian-micro-converted). The engine is held to PyTorch on the checkpoint's own weights and to
/// transformers.js on the converted folder; models/training/check_conversion.sh regenerates all three. The guardrails
/// are off: the references have none, and this briefly trained micro model loops.</summary>
public sealed class ConvertedCheckpointTests
{
    private static readonly string Folder = Path.Combine(RepoPaths.Fixtures, "marian-micro-converted");

    private static readonly IReadOnlyList<ReferenceCase> PyTorch = ReferenceCase.Read("pytorch-greedy.jsonl", Folder);

    private static readonly IReadOnlyList<ReferenceCase> TransformersJs = ReferenceCase.Read("transformersjs-greedy.jsonl", Folder);

    [Fact]
    public void ConvertedFolderHasTheServedLayoutAndTheCheckpointsGenerationSettings()
    {
        var folder = MarianModelFolder.Read(Folder);
        Assert.EndsWith(Path.Combine("onnx", "decoder_model_merged.onnx"), folder.MergedDecoderPath);
        Assert.EndsWith(Path.Combine("onnx", "encoder_model.onnx"), folder.EncoderPath);
        // The checkpoint's decoder sizes, which differ from its encoder's (4 heads, 2 layers) on purpose.
        Assert.Equal((1, 2, 8), (folder.DecoderLayers, folder.DecoderHeads, folder.HeadDim));
        var pad = folder.VocabSize - 1;
        Assert.Equal((pad, pad, 0, 0), (folder.Generation.DecoderStartTokenId, folder.Generation.PadTokenId,
            folder.Generation.EosTokenId, folder.Generation.ForcedEosTokenId ?? -1));
        Assert.Equal((512, 4), (folder.Generation.MaxLength, folder.Generation.NumBeams));
        Assert.Equal([pad], folder.Generation.BadTokenIds);
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json" })
        {
            Assert.True(File.Exists(Path.Combine(Folder, file)), $"{file} was not written");
        }
    }

    [Fact]
    public void PyTorchAndTransformersJsAgreeOnEverySentence()
    {
        // The two references were recorded independently; a disagreement means the fixtures are stale, not the engine.
        Assert.Equal(PyTorch.Select(c => c.Source), TransformersJs.Select(c => c.Source));
        Assert.Equal(PyTorch.Select(c => c.Ids), TransformersJs.Select(c => c.Ids));
        Assert.Equal(PyTorch.Select(c => c.SourceIds), TransformersJs.Select(c => c.SourceIds));
        // Briefly trained weights: outputs of several lengths, some ending in </s> before max_length, some not.
        Assert.Contains(PyTorch, c => c.Ids.Length < 20 && c.Ids[^1] == 0);
        Assert.Contains(PyTorch, c => c.Ids.Length == 511);
    }

    [Fact]
    public void SourceIdsMatchMarianTokenizerOnEverySentence()
    {
        using var translator = Translator.Load("converted", Folder, EngineOptions.Default.WithoutGuardrails());
        var mismatches = PyTorch.Where(c => !translator.Tokenizer.Encode(c.Source).SequenceEqual(c.SourceIds!))
            .Select(c => $"{c.Index}: {c.Source}")
            .ToArray();
        Assert.Empty(mismatches);
    }

    [Fact]
    public async Task GreedyIdsMatchPyTorchAndTransformersJsAloneAndBatched()
    {
        using var translator = Translator.Load("converted", Folder, EngineOptions.Default.WithoutGuardrails());
        var batched = await translator.TranslateAsync(new TranslationRequest(PyTorch.Select(c => c.Source).ToArray()) { Beams = 1 });
        var mismatches = new List<string>();
        for (int i = 0; i < PyTorch.Count; i++)
        {
            var alone = await translator.TranslateAsync(new TranslationRequest([PyTorch[i].Source]) { Beams = 1 });
            foreach (var (how, ids) in new[] { ("alone", alone.Translations[0].OutputIds), ("batched", batched.Translations[i].OutputIds) })
            {
                if (!ids.SequenceEqual(PyTorch[i].Ids) || !ids.SequenceEqual(TransformersJs[i].Ids))
                {
                    mismatches.Add($"{PyTorch[i].Index} ({how}): {PyTorch[i].Source}");
                }
            }
        }

        Assert.Empty(mismatches);
    }
}
