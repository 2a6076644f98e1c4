using ServerlessInference.Translation;

namespace ServerlessInference.Tests.Translation;

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
        var e = Assert.Throws<ModelFormatException>(() => MarianTranslator.Load("m", _dir));
        Assert.Contains(Path.GetFileName(file), e.Message);
    }

    [Fact]
    public void MalformedConfigIsReportedAsSuch()
    {
        CopyShipped();
        File.WriteAllText(Path.Combine(_dir, "config.json"), "{ not json");
        var e = Assert.Throws<ModelFormatException>(() => MarianTranslator.Load("m", _dir));
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public void TruncatedOnnxFileIsReportedWithItsName()
    {
        CopyShipped();
        var path = Path.Combine(_dir, "onnx", "decoder_model_merged.onnx");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 3)]);
        var e = Assert.Throws<ModelFormatException>(() => MarianTranslator.Load("m", _dir));
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
        using var translator = MarianTranslator.Load("m", _dir);
        Assert.Equal("m", translator.ModelName);
    }
}
