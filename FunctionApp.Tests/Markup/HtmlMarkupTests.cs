using ServerlessInference.Markup;
using static ServerlessInference.Tests.Markup.MarkupStructure;

namespace ServerlessInference.Tests.Markup;

public sealed class HtmlMarkupTests
{
    [Fact]
    public async Task ALinkFollowsItsWordsWhenTheTranslationReordersTheSentence()
    {
        var output = await TranslateAsync("<p>Click <a href=\"/x\">this link</a> now.</p>", xml: false, Reverse);

        Assert.Equal("<p>NOW. <a href=\"/x\">LINK THIS</a> CLICK</p>", output);
    }

    [Fact]
    public async Task NestedInlineTagsAreEachPutAroundTheirOwnWords()
    {
        var output = await TranslateAsync("<p>This is <b>very <i>important</i> news</b> today.</p>", xml: false, Uppercase);

        Assert.Equal("<p>THIS IS <b>VERY <i>IMPORTANT</i> NEWS</b> TODAY.</p>", output);
    }

    [Fact]
    public async Task ATagWhoseWordsCannotBeFoundWrapsTheWholeTranslationOnceRatherThanBeingDropped()
    {
        // The "model" translates the sentence and the tags' words so that neither appears in the other.
        static Task<IReadOnlyList<string>> Unrelated(IReadOnlyList<string> segments, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<string>>([.. segments.Select(s => s.StartsWith("Read", StringComparison.Ordinal) ? "xyz" : "q")]);

        var output = await TranslateAsync("<p>Read <b>the <i>whole</i> book</b> <img src=\"a.png\"> soon.</p>", xml: false, Unrelated);

        Assert.Equal("<p><b><i>xyz<img src=\"a.png\"></i></b></p>", output);
    }

    [Fact]
    public async Task InlineCodeIsSentWithItsSentenceAndPutBackUntouchedWhereTheTranslationHasIt()
    {
        IReadOnlyList<string>? sent = null;

        var output = await TranslateAsync("<p>Run <code>npm &lt;i&gt;</code> first.</p>", xml: false, (segments, ct) =>
        {
            sent = segments;
            return Uppercase(segments, ct);
        });

        Assert.Equal(["Run npm <i> first."], sent);
        Assert.Equal("<p>RUN <code>npm &lt;i&gt;</code> FIRST.</p>", output);
    }

    [Fact]
    public async Task EverySegmentOfADocumentGoesToTheTranslatorInOneCallAndEachTextOnce()
    {
        var calls = new List<IReadOnlyList<string>>();

        await TranslateAsync("<ul><li>Home</li><li><a href=\"/\" title=\"Home\">Home</a></li></ul><p>Good <b>day</b>.</p>", xml: false,
            (segments, ct) =>
            {
                calls.Add(segments);
                return Uppercase(segments, ct);
            });

        var call = Assert.Single(calls);
        Assert.Equal(["Home", "Good day.", "day"], call);
    }

    [Fact]
    public async Task NothingToTranslateCallsNoTranslatorAndReturnsTheSerialisedInput()
    {
        var output = await TranslateAsync("<pre>a  &amp; b</pre>\n<!-- c --><img src=x>", xml: false,
            (_, _) => throw new InvalidOperationException("called"));

        Assert.Equal("<pre>a  &amp; b</pre>\n<!-- c --><img src=\"x\">", output);
    }

    [Fact]
    public async Task LinesSeparatedByBrAreTranslatedApart()
    {
        IReadOnlyList<string>? sent = null;

        await TranslateAsync("<p>Main Street 1<br>Springfield</p>", xml: false, (segments, ct) =>
        {
            sent = segments;
            return Uppercase(segments, ct);
        });

        Assert.Equal(["Main Street 1", "Springfield"], sent);
    }

    [Fact]
    public async Task XmlModeKeepsXmlAndTranslatesMixedContent()
    {
        var output = await TranslateAsync("Press <key id=\"1\">Enter</key> &amp; <empty/> go.", xml: true, Uppercase);

        Assert.Equal("PRESS <key id=\"1\">ENTER</key> &amp; <empty /> GO.", output);
        AssertWellFormedXml(output);
    }

    [Fact]
    public async Task MalformedXmlIsAFormatError()
    {
        await Assert.ThrowsAsync<MarkupFormatException>(() => TranslateAsync("<a>text</b>", xml: true, Uppercase));
    }

    [Fact]
    public async Task ATranslatorReturningTheWrongNumberOfTranslationsIsAnError()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(() => TranslateAsync("<p>One.</p><p>Two.</p>", xml: false,
            (_, _) => Task.FromResult<IReadOnlyList<string>>(["one"])));
    }
}
