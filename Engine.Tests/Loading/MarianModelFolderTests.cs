using ServerlessInference.Engine.Batching;
using ServerlessInference.Engine.Loading;

namespace ServerlessInference.Engine.Tests.Loading;

public sealed class MarianModelFolderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("model-folder-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void CopyShipped()
    {
        foreach (var file in Directory.EnumerateFiles(RepoPaths.ShippedModel, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(_dir, Path.GetRelativePath(RepoPaths.ShippedModel, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    [Fact]
    public void ShippedFolderReadsItsGenerationSettings()
    {
        var folder = MarianModelFolder.Read(RepoPaths.ShippedModel);
        Assert.NotNull(folder.MergedDecoderPath);
        Assert.Equal(0, folder.Generation.EosTokenId);
        Assert.Equal(folder.VocabSize - 1, folder.Generation.PadTokenId);
        Assert.Equal(folder.Generation.PadTokenId, folder.Generation.DecoderStartTokenId);
        Assert.Equal([folder.Generation.PadTokenId], folder.Generation.BadTokenIds);
    }

    [Fact]
    public void ShippedFolderIgnoresNothingAndTurnsTheNewProcessorsOff()
    {
        var generation = MarianModelFolder.Read(RepoPaths.ShippedModel).Generation;
        Assert.Empty(generation.IgnoredSettings);
        Assert.Empty(generation.BadSequences);
        Assert.Equal(1.0, generation.RepetitionPenalty);
        Assert.Equal(0, generation.NoRepeatNgramSize);
        Assert.False(generation.RenormalizeLogits);
    }

    [Fact]
    public void EveryProcessorSettingOfGenerationConfigIsRead()
    {
        var generation = MarianModelFolder.Read(GenerationSettingsParityTests.CopyWithSettings(_dir)).Generation;
        Assert.True(generation.RenormalizeLogits);
        Assert.Equal(3, generation.NoRepeatNgramSize);
        Assert.Equal(1.2, generation.RepetitionPenalty);
        Assert.Equal(1.3, generation.LengthPenalty);
        Assert.Equal([7932], generation.BadTokenIds);
        Assert.Equal([[4002, 4000], [4007, 4001], [4003, 4000, 0]], generation.BadSequences);
        Assert.Empty(generation.IgnoredSettings);
    }

    [Fact]
    public void UnsupportedGenerationSettingsAreListedForTheLogAndAnEosBadWordIsDropped()
    {
        CopyShipped();
        File.WriteAllText(Path.Combine(_dir, "generation_config.json"), """
            {"eos_token_id": 0, "pad_token_id": 7932, "decoder_start_token_id": 7932, "bad_words_ids": [[7932], [0]],
             "do_sample": true, "min_length": 3, "early_stopping": "never", "transformers_version": "4.46.0",
             "bos_token_id": 0, "max_new_tokens": 40}
            """);
        var generation = MarianModelFolder.Read(_dir).Generation;
        Assert.Equal(["early_stopping=\"never\" (runs as false)", "do_sample=true", "min_length=3"], generation.IgnoredSettings);
        Assert.Equal([7932], generation.BadTokenIds);
        Assert.Equal(41, generation.MaxLength);
        Assert.False(generation.EarlyStopping);
    }

    [Theory]
    [InlineData("\"bad_words_ids\": [[]]", "bad_words_ids")]
    [InlineData("\"bad_words_ids\": [[-1]]", "bad_words_ids")]
    [InlineData("\"repetition_penalty\": 0", "repetition_penalty")]
    public void AnInvalidGenerationSettingIsRejectedByName(string setting, string name)
    {
        CopyShipped();
        File.WriteAllText(Path.Combine(_dir, "generation_config.json"), $$"""{"eos_token_id": 0, {{setting}}}""");
        var e = Assert.Throws<ModelFormatException>(() => MarianModelFolder.Read(_dir));
        Assert.Contains(name, e.Message);
    }

    [Theory]
    [InlineData("config.json")]
    [InlineData("source.spm")]
    [InlineData("vocab.json")]
    [InlineData("onnx/encoder_model.onnx")]
    [InlineData("onnx/decoder_model_merged.onnx")]
    public void MissingFileIsNamedInTheError(string file)
    {
        CopyShipped();
        File.Delete(Path.Combine(_dir, file));
        var e = Assert.Throws<ModelFormatException>(() => Translator.Load("m", _dir));
        Assert.Contains(Path.GetFileName(file), e.Message);
    }

    [Fact]
    public void MalformedConfigIsReportedAsSuch()
    {
        CopyShipped();
        File.WriteAllText(Path.Combine(_dir, "config.json"), "{ not json");
        var e = Assert.Throws<ModelFormatException>(() => Translator.Load("m", _dir));
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public void TruncatedOnnxFileIsReportedWithItsName()
    {
        CopyShipped();
        var path = Path.Combine(_dir, "onnx", "decoder_model_merged.onnx");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 3)]);
        var e = Assert.Throws<ModelFormatException>(() => Translator.Load("m", _dir));
        Assert.Contains("decoder_model_merged.onnx", e.Message);
    }

    [Fact]
    public void OnnxFilesMaySitAtTheTopOfTheFolder()
    {
        CopyShipped();
        foreach (var file in Directory.GetFiles(Path.Combine(_dir, "onnx")))
        {
            File.Move(file, Path.Combine(_dir, Path.GetFileName(file)));
        }

        Directory.Delete(Path.Combine(_dir, "onnx"));
        using var translator = Translator.Load("m", _dir);
        Assert.Equal("m", translator.ModelName);
    }

    private void CopyShippedWithout(string suffix)
    {
        CopyShipped();
        foreach (var file in Directory.GetFiles(Path.Combine(_dir, "onnx"), "*" + suffix + ".onnx"))
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void MissingVariantFileIsNamedWithItsDtype()
    {
        CopyShippedWithout("_q4");
        var e = Assert.Throws<ModelFormatException>(() => Translator.Load("m", _dir, dtype: "q4"));
        Assert.Contains("onnx/encoder_model_q4.onnx", e.Message);
        Assert.Contains("dtype q4", e.Message);

        File.Copy(Path.Combine(_dir, "onnx", "encoder_model.onnx"), Path.Combine(_dir, "onnx", "encoder_model_q4.onnx"));
        e = Assert.Throws<ModelFormatException>(() => Translator.Load("m", _dir, dtype: "q4"));
        Assert.Contains("onnx/decoder_model_merged_q4.onnx", e.Message);
    }

    [Theory]
    [InlineData("q8", "_quantized")]
    [InlineData("int8", "_int8")]
    [InlineData("uint8", "_uint8")]
    [InlineData("fp16", "_fp16")]
    [InlineData("q4", "_q4")]
    [InlineData("q4f16", "_q4f16")]
    [InlineData("bnb4", "_bnb4")]
    public void DtypeSelectsTheTransformersJsFileNames(string dtype, string suffix)
    {
        CopyShippedWithout(suffix);
        foreach (var graph in new[] { "encoder_model", "decoder_model_merged" })
        {
            File.Copy(Path.Combine(_dir, "onnx", graph + ".onnx"), Path.Combine(_dir, "onnx", graph + suffix + ".onnx"));
        }

        var folder = MarianModelFolder.Read(_dir, dtype);
        Assert.Equal(Path.Combine(_dir, "onnx", "encoder_model" + suffix + ".onnx"), folder.EncoderPath);
        Assert.Equal(Path.Combine(_dir, "onnx", "decoder_model_merged" + suffix + ".onnx"), folder.MergedDecoderPath);
        Assert.Equal(dtype, folder.Dtype);
    }

    [Fact]
    public void UnknownDtypeIsRefusedListingTheKnownOnes()
    {
        var e = Assert.Throws<ModelFormatException>(() => MarianModelFolder.Read(RepoPaths.ShippedModel, "q5"));
        Assert.Contains("'q5'", e.Message);
        Assert.Contains("q4", e.Message);
    }

    [Theory]
    [InlineData(null, "")]
    [InlineData("fp32", "")]
    [InlineData("q4", "_q4")]
    [InlineData("q8", "_quantized")]
    [InlineData("int8", "_int8")]
    [InlineData("uint8", "_uint8")]
    [InlineData("fp16", "_fp16")]
    [InlineData("q4f16", "_q4f16")]
    [InlineData("bnb4", "_bnb4")]
    public void OnlyTheChosenVariantsGraphsAreDownloaded(string? dtype, string suffix)
    {
        // Every variant Xenova/* and onnx-community/* opus-mt folders publish, in both decoder layouts.
        string[] graphs = ["encoder_model", "decoder_model_merged", "decoder_model", "decoder_with_past_model"];
        string[] suffixes = ["", "_q4", "_quantized", "_int8", "_uint8", "_fp16", "_q4f16", "_bnb4"];
        var listing = graphs.SelectMany(g => suffixes.Select(s => $"onnx/{g}{s}.onnx"))
            .Concat(["config.json", "generation_config.json", "source.spm", "vocab.json", "target.spm", "tokenizer.json"])
            .ToList();
        var selected = MarianModelFolder.SelectFiles(listing, dtype);
        Assert.Equal(
            ["config.json", "generation_config.json", "source.spm", "vocab.json",
             $"onnx/encoder_model{suffix}.onnx", $"onnx/decoder_model_merged{suffix}.onnx"],
            selected);
    }

    [Fact]
    public void EveryTransformersJsDtypeNameIsKnown()
    {
        // transformers.js' dtype names (DATA_TYPES in its utils/dtypes.js) for the files an opus-mt folder holds.
        Assert.Equal(["fp32", "fp16", "q8", "int8", "uint8", "q4", "q4f16", "bnb4"], ModelDtype.Names);
    }

    [Fact]
    public void VariantWithoutItsMergedDecoderFallsBackToTheDecoderPairOfTheSameDtype()
    {
        // Xenova's folders carry decoder_model_quantized.onnx + decoder_with_past_model_quantized.onnx beside the merged
        // one; a listing without the merged file must not pull in the fp32 pair.
        var listing = new[]
        {
            "config.json", "source.spm", "vocab.json", "onnx/encoder_model_bnb4.onnx", "onnx/decoder_model_bnb4.onnx",
            "onnx/decoder_with_past_model_bnb4.onnx", "onnx/decoder_model.onnx", "onnx/decoder_with_past_model.onnx",
            "onnx/decoder_model_merged.onnx",
        };
        Assert.Equal(
            ["config.json", "source.spm", "vocab.json", "onnx/encoder_model_bnb4.onnx", "onnx/decoder_model_bnb4.onnx",
             "onnx/decoder_with_past_model_bnb4.onnx"],
            MarianModelFolder.SelectFiles(listing, "bnb4"));
    }
}
