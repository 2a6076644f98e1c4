namespace ServerlessInference.Tools.Tests;

/// <summary>The parser itself, on small definitions: switches, positionals, a tool without verbs, exit codes.</summary>
public sealed class CommandLineTests
{
    private static readonly CommandLine Tool = new("tool", "A tool without verbs.",
    [
        new Verb("", "Does one thing.",
            [Flag.Switch("force", "overwrite"), Flag.Int("size", "how big", "3"), Flag.Number("scale", "X", "how much")],
            [new Positional("source", "what to read"), new Positional("target", "where to write", Required: false, Default: "out")]),
    ]);

    [Fact]
    public void PositionalsSwitchesAndDefaults()
    {
        var result = Tool.Parse(["in.txt", "--force", "--scale", "-0.5"]);
        Assert.Null(result.ExitCode);
        Assert.Equal("in.txt", result.Values["source"]);
        Assert.Equal("out", result.Values["target"]);
        Assert.True(result.Values.ContainsKey("force"));
        Assert.Equal(3, result.Values.Int("size"));
        Assert.Equal(-0.5, result.Values.Number("scale"));
    }

    [Fact]
    public void ASwitchTakesNoValue()
    {
        Assert.Equal("yes", Tool.Parse(["in.txt", "--force", "yes"]).Values["target"]);
        var result = Tool.Parse(["in.txt", "--force", "yes", "no"]);
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: unexpected argument 'no'\nusage: tool [options] <source> [target]\n", result.Error);
    }

    [Fact]
    public void AMissingPositionalIsAnError()
    {
        var result = Tool.Parse(["--force"]);
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: <source> is required\nusage: tool [options] <source> [target]\n", result.Error);
    }

    [Fact]
    public void AToolWithoutVerbsPrintsItsOneUsage()
    {
        var result = Tool.Parse(["--help"]);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(
            """
            usage: tool [options] <source> [target]
              Does one thing.
              <source>    what to read
              <target>    where to write (default: out)
              --force     overwrite
              --size N    how big (default: 3)
              --scale X   how much
              -h, --help  print this usage

            """.ReplaceLineEndings("\n"),
            result.Output);
    }

    [Fact]
    public void FinishedPrintsAndGivesTheExitCode()
    {
        var (stdout, stderr) = (Console.Out, Console.Error);
        var (output, error) = (new StringWriter(), new StringWriter());
        try
        {
            Console.SetOut(output);
            Console.SetError(error);
            Assert.True(Tool.Parse(["--size", "big"]).Finished(out int failed));
            Assert.Equal(2, failed);
            Assert.True(Tool.Parse(["-h"]).Finished(out int helped));
            Assert.Equal(0, helped);
            Assert.False(Tool.Parse(["in.txt"]).Finished(out _));
        }
        finally
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
        }

        Assert.StartsWith("error: --size must be an integer, not 'big'\n", error.ToString());
        Assert.StartsWith("usage: tool ", output.ToString());
    }

    [Theory]
    [InlineData("1,4,16", new[] { 1, 4, 16 })]
    [InlineData(" 1 , 4 ", new[] { 1, 4 })]
    [InlineData("", new int[0])]
    public void IntListsSplitOnCommas(string value, int[] expected)
    {
        Assert.True(ParsedValues.TrySplitInts(value, out var list));
        Assert.Equal(expected, list);
    }

    [Theory]
    [InlineData("1;4")]
    [InlineData("1,four")]
    [InlineData("1.5")]
    public void MalformedIntListsAreRefused(string value) => Assert.False(ParsedValues.TrySplitInts(value, out _));
}
