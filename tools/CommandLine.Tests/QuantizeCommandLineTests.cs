namespace ServerlessInference.Tools.Tests;

/// <summary>tools/Quantize's flags and its overwrite check: a variant file that exists, such as the committed ones,
/// is never overwritten without --force.</summary>
public sealed class QuantizeCommandLineTests : IDisposable
{
    private static readonly CommandLine Quantize = QuantizeCommandLine.Create(blockSize: 32, outputBlockSize: 128);
    private readonly string _directory = Directory.CreateTempSubdirectory("quantize-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void HelpNamesOutputAndForceAndWhatItWrites()
    {
        var result = Quantize.Parse(["--help"]);
        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("usage: quantize --model <dir> --dtype q4|q4f16|q8|int8|uint8|bnb4|q8-dynamic|fp16 [options]\n", result.Output);
        Assert.Contains("--output <dir>", result.Output);
        Assert.Contains("--force ", result.Output);
        Assert.Contains("refuses to overwrite", result.Output);
        Assert.Contains("--recipe tuned|transformers.js", result.Output);
    }

    [Fact]
    public void Defaults()
    {
        var result = Quantize.Parse(["--model", "models/m", "--dtype", "q4"]);
        Assert.Null(result.ExitCode);
        Assert.Equal(32, result.Values.Int("block-size"));
        Assert.Equal(128, result.Values.Int("output-block-size"));
        Assert.Equal(4, result.Values.Int("accuracy-level"));
        Assert.Equal(1, result.Values.Int("fuse-bias"));
        Assert.Equal("quantized", result.Values["output-projection"]);
        Assert.Equal("tuned", result.Values["recipe"]);
        Assert.False(result.Values.ContainsKey("force"));
        Assert.False(result.Values.ContainsKey("output"));
    }

    [Theory]
    [InlineData(new[] { "--model", "m", "--dtype", "q4", "--out", "x" }, "error: unknown flag '--out'")]
    [InlineData(new[] { "--model", "m", "--dtype", "q8", "--output-projection", "int8" },
        "error: --output-projection must be quantized or float, not 'int8'")]
    [InlineData(new[] { "--model", "m", "--dtype", "q4", "--output" }, "error: --output needs a value (<dir>)")]
    [InlineData(new[] { "--model", "m", "--dtype", "q5" },
        "error: --dtype must be one of q4, q4f16, q8, int8, uint8, bnb4, q8-dynamic, fp16, not 'q5'")]
    [InlineData(new[] { "--model", "m", "--dtype", "q4", "--block-size", "3x" }, "error: --block-size must be an integer, not '3x'")]
    [InlineData(new[] { "--model", "m" }, "error: --dtype is required")]
    [InlineData(new[] { "m", "q4" }, "error: unexpected argument 'm'")]
    public void BadArgumentsAreUsageErrors(string[] args, string message)
    {
        var result = Quantize.Parse(args);
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith(message + "\nusage: quantize ", result.Error);
    }

    [Fact]
    public void AnExistingVariantIsRefusedWithoutForce()
    {
        var existing = Path.Combine(_directory, "encoder_model_q4.onnx");
        File.WriteAllText(existing, "committed");
        var missing = Path.Combine(_directory, "decoder_model_merged_q4.onnx");

        Assert.Equal([existing], QuantizeCommandLine.Refused([existing, missing], force: false));
        Assert.Empty(QuantizeCommandLine.Refused([existing, missing], force: true));
        Assert.Empty(QuantizeCommandLine.Refused([missing], force: false));
        Assert.Equal("committed", File.ReadAllText(existing));
    }

    [Fact]
    public void TheCommittedVariantsAreRefusedWithoutForce()
    {
        var onnx = Path.Combine(RepositoryRoot(), "models", "marian-tiny-en-zh", "onnx");
        var outputs = new[] { "encoder_model.onnx", "decoder_model_merged.onnx" }
            .SelectMany(graph => new[] { "_q4", "_quantized" }.Select(suffix =>
                QuantizeCommandLine.OutputPath(Path.Combine(onnx, graph), suffix, outputDirectory: null)))
            .ToArray();
        Assert.All(outputs, o => Assert.True(File.Exists(o), o));
        Assert.Equal(outputs, QuantizeCommandLine.Refused(outputs, force: false));
    }

    [Fact]
    public void OutputGoesBesideTheGraphOrIntoTheOutputFolder()
    {
        var graph = Path.Combine("models", "m", "onnx", "decoder_model_merged.onnx");
        Assert.Equal(Path.Combine("models", "m", "onnx", "decoder_model_merged_q4.onnx"),
            QuantizeCommandLine.OutputPath(graph, "_q4", outputDirectory: null));
        Assert.Equal(Path.Combine(_directory, "decoder_model_merged_fp16.onnx"),
            QuantizeCommandLine.OutputPath(graph, "_fp16", _directory));
        Assert.Empty(QuantizeCommandLine.Refused([QuantizeCommandLine.OutputPath(graph, "_q4", _directory)], force: false));
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "ServerlessInference.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("ServerlessInference.sln not found above the test binaries.");
    }
}
