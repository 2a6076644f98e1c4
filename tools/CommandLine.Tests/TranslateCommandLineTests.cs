namespace ServerlessInference.Tools.Tests;

/// <summary>tools/Translate's verbs as its users call them: help, the errors that exit 2, and the defaults the verbs
/// run with.</summary>
public sealed class TranslateCommandLineTests
{
    private static readonly CommandLine Translate = TranslateCommandLine.Definition;

    public static TheoryData<string> Verbs() => [.. Translate.Verbs.Select(v => v.Name)];

    [Fact]
    public void EveryVerbIsDeclared() =>
        Assert.Equal(["translate", "bench", "memory", "burst", "load", "cold"], Translate.Verbs.Select(v => v.Name));

    [Theory]
    [MemberData(nameof(Verbs))]
    public void HelpPrintsTheVerbsUsageWithEveryFlagAndExitsZero(string verb)
    {
        foreach (var help in new[] { "--help", "-h" })
        {
            var result = Translate.Parse([verb, help]);
            Assert.Equal(0, result.ExitCode);
            Assert.Equal("", result.Error);
            Assert.StartsWith($"usage: translate {verb} ", result.Output);
            Assert.All(Translate.Verbs.Single(v => v.Name == verb).Flags, f => Assert.Contains($"--{f.Name} ", result.Output));
        }
    }

    [Fact]
    public void HelpAfterOtherArgumentsStillPrintsTheVerbsUsage()
    {
        var result = Translate.Parse(["bench", "--model", "m", "--limit", "ten", "--help"]);
        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("usage: translate bench ", result.Output);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public void TopLevelHelpListsEveryVerbAndEveryFlag(string help)
    {
        var result = Translate.Parse([help]);
        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("usage: translate <command> [options]", result.Output);
        foreach (var verb in Translate.Verbs)
        {
            Assert.Contains($"\n  {verb.Name} ", result.Output);
            Assert.Contains($"usage: translate {verb.Name} ", result.Output);
            Assert.All(verb.Flags, f => Assert.Contains($"--{f.Name} ", result.Output));
        }

        // The flags that the usage once left out.
        Assert.All(new[] { "--dtype", "--threads", "--logits", "--limit", "--rate-beams", "--direct" },
            f => Assert.Contains(f, result.Output));
    }

    [Fact]
    public void NoArgumentsIsAUsageError()
    {
        var result = Translate.Parse([]);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.StartsWith("usage: translate <command> [options]", result.Error);
    }

    [Fact]
    public void AnUnknownVerbIsAnError()
    {
        var result = Translate.Parse(["benchmark", "--model", "m"]);
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: unknown command 'benchmark'\nusage: translate <command>", result.Error);
    }

    [Fact]
    public void AFlagFirstRunsTranslate()
    {
        var result = Translate.Parse(["--model", "m", "--beams", "4"]);
        Assert.Null(result.ExitCode);
        Assert.Equal("translate", result.Verb!.Name);
        Assert.Equal("4", result.Values["beams"]);
    }

    [Theory]
    [InlineData(new[] { "--dtyp", "q4", "hello" }, "unknown flag '--dtyp'", "translate")]
    [InlineData(new[] { "translate", "--model", "m", "--input", "x" }, "unknown flag '--input'", "translate")]
    [InlineData(new[] { "bench", "--model", "m", "--input", "x", "--repeat", "3" }, "unknown flag '--repeat'", "bench")]
    [InlineData(new[] { "load", "--storage", "s", "--input", "x", "--out", "o", "--model", "m" }, "unknown flag '--model'", "load")]
    [InlineData(new[] { "translate", "-model", "m" }, "unknown flag '-model'", "translate")]
    [InlineData(new[] { "translate", "--model", "m", "hello" }, "unexpected argument 'hello'", "translate")]
    [InlineData(new[] { "bench", "--model", "m", "--input", "x", "--beams", "1", "--beams", "4" }, "--beams is given twice", "bench")]
    public void AnUnknownFlagOrExtraArgumentIsAnErrorNamingIt(string[] args, string message, string verb) =>
        AssertUsageError(args, message, verb);

    [Theory]
    [InlineData(new[] { "translate", "--model" }, "--model needs a value (<dir>)", "translate")]
    [InlineData(new[] { "translate", "--model", "--beams", "4" }, "--model needs a value (<dir>)", "translate")]
    [InlineData(new[] { "bench", "--model", "m", "--input", "x", "--limit" }, "--limit needs a value (N)", "bench")]
    [InlineData(new[] { "cold", "--storage", "s", "--input", "x", "--out" }, "--out needs a value (<rows.jsonl>)", "cold")]
    public void AFlagWithoutItsValueIsAnError(string[] args, string message, string verb) => AssertUsageError(args, message, verb);

    [Theory]
    [InlineData(new[] { "--model", "m", "--beams", "four" }, "--beams must be an integer, not 'four'", "translate")]
    [InlineData(new[] { "--model", "m", "--batch", "3.5" }, "--batch must be an integer, not '3.5'", "translate")]
    [InlineData(new[] { "bench", "--model", "m", "--input", "x", "--beams", "1,x" },
        "--beams must be integers separated by commas, not '1,x'", "bench")]
    [InlineData(new[] { "load", "--storage", "s", "--input", "x", "--out", "o", "--duration", "1m" },
        "--duration must be a number, not '1m'", "load")]
    [InlineData(new[] { "--model", "m", "--logits", "full" }, "--logits must be split or graph, not 'full'", "translate")]
    [InlineData(new[] { "burst", "--model", "m", "--input", "x", "--direct", "0" }, "--direct must be 1, not '0'", "burst")]
    public void AMalformedValueIsAnError(string[] args, string message, string verb) => AssertUsageError(args, message, verb);

    [Theory]
    [InlineData(new[] { "translate" }, "--model is required", "translate")]
    [InlineData(new[] { "bench", "--model", "m" }, "--input is required", "bench")]
    [InlineData(new[] { "load", "--storage", "s", "--input", "x" }, "--out is required", "load")]
    public void AMissingRequiredFlagIsAnError(string[] args, string message, string verb) => AssertUsageError(args, message, verb);

    [Fact]
    public void TranslateDefaults()
    {
        var values = Run("translate", "--model", "m");
        Assert.Equal("m", values["model"]);
        Assert.Equal(32, values.Int("batch"));
        Assert.Equal("split", values["logits"]);
        // Left out, these mean the model's own settings, the plain graphs and ONNX Runtime's thread count.
        Assert.Null(values.IntOrNull("beams"));
        Assert.Null(values.IntOrNull("max-new-tokens"));
        Assert.Null(values.IntOrNull("threads"));
        Assert.False(values.ContainsKey("dtype"));
        Assert.False(values.ContainsKey("target-language"));
    }

    [Fact]
    public void BenchDefaultsAndGivenValues()
    {
        var values = Run("bench", "--model", "m", "--input", "dev.tsv", "--threads", "2", "--dtype", "q4");
        Assert.Equal([1, 4], values.Ints("beams"));
        Assert.Equal(32, values.Int("batch"));
        Assert.Null(values.IntOrNull("limit"));
        Assert.False(values.ContainsKey("json"));
        Assert.Equal(2, values.Int("threads"));
        Assert.Equal("q4", values["dtype"]);
        Assert.Equal([1], Run("bench", "--model", "m", "--input", "x", "--beams", "1").Ints("beams"));
    }

    [Fact]
    public void BurstAndMemoryDefaults()
    {
        var burst = Run("burst", "--model", "m", "--input", "x");
        Assert.Equal(50, burst.Int("clients"));
        Assert.Equal(1, burst.Int("concurrency"));
        Assert.Null(burst.IntOrNull("beams"));
        Assert.False(burst.ContainsKey("direct"));
        Assert.True(Run("burst", "--model", "m", "--input", "x", "--direct", "1").ContainsKey("direct"));
        Assert.False(Run("memory", "--model", "m").ContainsKey("input"));
    }

    [Fact]
    public void LoadAndColdDefaults()
    {
        var load = Run("load", "--storage", "s", "--input", "x", "--out", "o");
        Assert.Equal(60, load.Number("duration"));
        Assert.Equal(5, load.Number("warmup"));
        Assert.Equal([1, 4, 16, 64], load.Ints("concurrency"));
        Assert.Equal([1, 4], load.Ints("beams"));
        Assert.Empty(load.Ints("rates"));
        Assert.Equal([1], load.Ints("rate-beams"));
        Assert.False(load.ContainsKey("upload"));
        Assert.Equal(0.5, Run("load", "--storage", "s", "--input", "x", "--out", "o", "--warmup", "0.5").Number("warmup"));
        Assert.Equal([100, 400], Run("load", "--storage", "s", "--input", "x", "--out", "o", "--rates", "100, 400").Ints("rates"));

        var cold = Run("cold", "--storage", "s", "--input", "x", "--out", "o", "--upload", "models/m");
        Assert.Equal(50, cold.Int("clients"));
        Assert.Equal(1, cold.Int("beams"));
        Assert.Equal("models/m", cold["upload"]);
    }

    private static Dictionary<string, string> Run(params string[] args)
    {
        var result = Translate.Parse(args);
        Assert.Null(result.ExitCode);
        Assert.Equal("", result.Output + result.Error);
        return result.Values;
    }

    private static void AssertUsageError(string[] args, string message, string verb)
    {
        var result = Translate.Parse(args);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.StartsWith($"error: {message}\nusage: translate {verb} ", result.Error);
    }
}
