using ServerlessInference.Engine.Batching;

namespace ServerlessInference.Engine.Tests.Loading;

/// <summary>A model folder as a Hugging Face cache snapshot holds it: every file a symbolic link into a blobs folder
/// beside it, named by hash. The engine rewrites the decoder graph to read its weights from the original file, so the
/// links must lead it to the real file.</summary>
public sealed class LinkedFolderTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "si-linked-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task FolderOfSymbolicLinksTranslatesAsTheFilesThemselvesDo()
    {
        var blobs = Directory.CreateDirectory(Path.Combine(_root, "blobs")).FullName;
        var snapshot = Path.Combine(_root, "snapshots", "0123abcd");
        var shipped = RepoPaths.ShippedModel;
        foreach (var file in Directory.EnumerateFiles(shipped, "*", SearchOption.AllDirectories)
                     .Where(f => !f.EndsWith(".onnx", StringComparison.Ordinal)
                                 || Path.GetFileName(f) is "encoder_model.onnx" or "decoder_model_merged.onnx"))
        {
            var relative = Path.GetRelativePath(shipped, file);
            var blob = Path.Combine(blobs, Guid.NewGuid().ToString("N"));
            File.Copy(file, blob);
            var link = Path.Combine(snapshot, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(link)!);
            File.CreateSymbolicLink(link, Path.GetRelativePath(Path.GetDirectoryName(link)!, blob));
        }

        Assert.NotNull(new FileInfo(Path.Combine(snapshot, "onnx", "decoder_model_merged.onnx")).LinkTarget);
        string[] texts = ["My name is Wolfgang and I live in Berlin.", "Where is the station?"];
        using var linked = Translator.Load("linked", snapshot, EngineOptions.Default);
        using var plain = Translator.Load("plain", shipped, EngineOptions.Default);

        var fromLinks = await linked.TranslateAsync(new TranslationRequest(texts) { Beams = 1 });
        var fromFiles = await plain.TranslateAsync(new TranslationRequest(texts) { Beams = 1 });

        Assert.Equal(fromFiles.Translations.Select(t => t.OutputIds), fromLinks.Translations.Select(t => t.OutputIds));
    }
}
