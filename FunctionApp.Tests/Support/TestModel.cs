using ServerlessInference.Engine.Loading;

namespace ServerlessInference.Tests.Support;

public static class TestModel
{
    public static readonly string[] RequiredFiles =
        ["config.json", "generation_config.json", "source.spm", "target.spm", "vocab.json", "onnx/encoder_model.onnx",
            "onnx/decoder_model_merged.onnx"];

    public static void EnsurePresent()
    {
        var missing = RequiredFiles.Where(f => !File.Exists(Path.Combine(RepoPaths.ShippedModel, f))).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException(
                $"The test model at {RepoPaths.ShippedModel} lacks {string.Join(", ", missing)}.");
        }
    }
}

public static class ShippedModelFiles
{
    /// <summary>The shipped model's files the engine needs, as relative '/' paths: what a load downloads.</summary>
    public static IReadOnlyList<string> Needed() =>
        ServerlessInference.Engine.Loading.MarianModelFolder.SelectFiles(Directory.GetFiles(RepoPaths.ShippedModel, "*",
            SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(RepoPaths.ShippedModel, f).Replace('\\', '/')).ToList());
}
