namespace ServerlessInference.Tests.Support;

public static class TestModel
{
    public static readonly string[] RequiredFiles =
        ["config.json", "generation_config.json", "source.spm", "target.spm", "vocab.json", "onnx/encoder_model.onnx", "onnx/decoder_model_merged.onnx"];

    public static void EnsurePresent()
    {
        var missing = RequiredFiles.Where(f => !File.Exists(Path.Combine(RepoPaths.ShippedModel, f))).ToList();
        if (missing.Count > 0)
            throw new InvalidOperationException(
                $"The test model at {RepoPaths.ShippedModel} lacks {string.Join(", ", missing)}.");
    }
}
