using ServerlessInference.Engine.Tokenization;

namespace ServerlessInference.Engine.Tests.Tokenization;

public sealed class TextSegmenterTests
{
    private static string[] Sentences(string text) =>
        TextSegmenter.Split(text).Where(p => p.IsSentence).Select(p => p.Text).ToArray();

    [Fact]
    public void SplitsAfterSentencePunctuationFollowedBySpace() =>
        Assert.Equal(["Hi there.", "How are you?", "\"Fine!\""], Sentences("Hi there. How are you? \"Fine!\""));

    [Fact]
    public void ChinesePunctuationEndsASentenceWithoutASpace() =>
        Assert.Equal(["你好。", "你呢？"], Sentences("你好。你呢？"));

    [Fact]
    public void DecimalPointsAndUrlsDoNotSplit() =>
        Assert.Equal(["It costs 3.50 at example.com today."], Sentences("It costs 3.50 at example.com today."));

    [Fact]
    public void LinesAreSentencesOfTheirOwn() =>
        Assert.Equal(["Title", "Body text"], Sentences("Title\nBody text"));

    [Fact]
    public void JoinKeepsLineBreaksAndDropsSpacesAfterCjk()
    {
        var parts = TextSegmenter.Split("  One. Two.\n\nThree.  ");
        Assert.Equal("一。二。\n\n三。", TextSegmenter.Join(parts, ["一。", "二。", "三。"]));
        Assert.Equal("A. B.\n\nC.", TextSegmenter.Join(parts, ["A.", "B.", "C."]));
    }

    [Theory]
    [InlineData("a\tb", "a b")]
    [InlineData("a\r\nb\rc", "a\nb\nc")]
    [InlineData("a\u0000b\u009fc", "abc")]
    [InlineData("ok 😀", "ok 😀")]
    public void CleanRemovesWhatTheModelMustNotSee(string input, string expected) =>
        Assert.Equal(expected, TextSegmenter.Clean(input));

    [Fact]
    public void CleanReplacesLoneSurrogatesAndKeepsPairs()
    {
        // Built in code: attribute arguments are stored as UTF-8, which cannot hold a lone surrogate.
        string text = "x" + '\ud800' + "y" + '\udc00' + "z\ud83d\ude00";
        Assert.Equal("x\ufffdy\ufffdz\ud83d\ude00", TextSegmenter.Clean(text));
    }
}
