using ServerlessInference.Engine.Batching;

namespace ServerlessInference.Engine.Tests;

/// <summary>
/// The shipped model with a generation_config.json that turns on every logits processor transformers applies to a
/// Marian model (renormalize_logits, no_repeat_ngram_size 3, repetition_penalty 1.2, bad words of one, two and three
/// tokens, length_penalty 1.3: Fixtures/generation-settings), held to PyTorch references that apply them as
/// transformers does (models/training/beam_reference.py), on the first 100 dev sentences, guardrails off.
/// </summary>
public sealed class GenerationSettingsParityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("generation-settings-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The files of the shipped model the engine reads, with the fixture's generation_config.json.</summary>
    internal static string CopyWithSettings(string dir, string? generationConfig = null)
    {
        string[] files = ["config.json", "source.spm", "vocab.json", "onnx/encoder_model.onnx", "onnx/decoder_model_merged.onnx"];
        foreach (var file in files)
        {
            var target = Path.Combine(dir, file);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(Path.Combine(RepoPaths.ShippedModel, file), target);
        }

        var settings = generationConfig
            ?? File.ReadAllText(Path.Combine(RepoPaths.Fixtures, "generation-settings", "generation_config.json"));
        File.WriteAllText(Path.Combine(dir, "generation_config.json"), settings);
        return dir;
    }

    [Theory]
    [InlineData("pytorch-greedy-settings.jsonl", 1)]
    [InlineData("pytorch-beam4-settings.jsonl", 4)]
    public async Task EveryProcessorMatchesThePyTorchReferenceAloneAndBatched(string fixture, int beams)
    {
        var reference = ReferenceCase.Read(fixture);
        Assert.Equal(100, reference.Count);
        using var translator = Translator.Load("settings", CopyWithSettings(_dir), EngineOptions.Default.WithoutGuardrails());
        var batched = await translator.TranslateAsync(new TranslationRequest(reference.Select(c => c.Source).ToArray()) { Beams = beams });
        var mismatches = new List<string>();
        for (int i = 0; i < reference.Count; i++)
        {
            var alone = beams == 1 || i % 10 == 0
                ? (await translator.TranslateAsync(new TranslationRequest([reference[i].Source]) { Beams = beams })).Translations[0]
                : batched.Translations[i];
            if (!alone.OutputIds.SequenceEqual(reference[i].Ids) || !batched.Translations[i].OutputIds.SequenceEqual(reference[i].Ids))
            {
                mismatches.Add($"{reference[i].Index}: {reference[i].Source}");
            }
        }

        Assert.Empty(mismatches);
    }

    [Fact]
    public void TheSettingsChangeTheOutputsTheReferencesHold()
    {
        // Otherwise the comparison above could pass with the processors ignored.
        var plain = ReferenceCase.Read("pytorch-beam4.jsonl").Take(100).ToArray();
        var processed = ReferenceCase.Read("pytorch-beam4-settings.jsonl");
        Assert.True(plain.Zip(processed).Count(p => !p.First.Ids.SequenceEqual(p.Second.Ids)) >= 10);
        Assert.DoesNotContain(processed, c => c.Ids.Zip(c.Ids.Skip(1)).Contains((4002, 4000)));
    }

    [Fact]
    public async Task GreedyWithBansAloneKeepsTheApproximateProjectionExact()
    {
        // no_repeat_ngram_size and longer bad words only ban ids, which the 4-bit projection's exact argmax honours:
        // split (approximate + float32 check) and graph (float32 logits) must agree on every sentence.
        var settings = File.ReadAllText(Path.Combine(RepoPaths.Fixtures, "generation-settings", "generation_config.json"))
            .Replace("\"repetition_penalty\": 1.2", "\"repetition_penalty\": 1.0", StringComparison.Ordinal)
            .Replace("\"no_repeat_ngram_size\": 3", "\"no_repeat_ngram_size\": 2", StringComparison.Ordinal);
        CopyWithSettings(_dir, settings);
        var sources = ReferenceCase.Read("pytorch-beam4.jsonl").Take(100).Select(c => c.Source).ToArray();
        using var split = Translator.Load("split", _dir, new EngineOptions { SplitOutputProjection = true });
        using var graph = Translator.Load("graph", _dir, new EngineOptions { SplitOutputProjection = false });
        var a = await split.TranslateAsync(new TranslationRequest(sources) { Beams = 1 });
        var b = await graph.TranslateAsync(new TranslationRequest(sources) { Beams = 1 });
        Assert.Equal(b.Translations.Select(t => t.OutputIds), a.Translations.Select(t => t.OutputIds));
    }
}
