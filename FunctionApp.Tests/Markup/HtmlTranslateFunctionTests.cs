using ServerlessInference.Functions;
using static ServerlessInference.Tests.Markup.MarkupStructure;

namespace ServerlessInference.Tests.Markup;

[Collection(StorageCollection.Name)]
public sealed class HtmlTranslateFunctionTests(StorageFixture storage)
{
    [Fact]
    public async Task HtmlTextsAreTranslatedWithTheirMarkupKept()
    {
        using var app = new TestApp(storage);
        string[] texts =
        [
            "<p>Click <a href=\"/x?a=1&amp;b=2\">here</a> to <b>continue</b>.</p>",
            "<pre>keep &lt;me&gt;</pre><p>Good night.</p>",
        ];

        var response = await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(
            Http.Json(new { texts, format = "html" }), CancellationToken.None));

        response.ShouldBe(200);
        var translations = response.Json.GetProperty("translations").EnumerateArray().ToList();
        Assert.Equal(2, translations.Count);
        for (var i = 0; i < texts.Length; i++)
        {
            var output = translations[i].GetProperty("text").GetString()!;
            Assert.Equal(TagNames(Parse(texts[i], xml: false)), TagNames(Parse(output, xml: false)));
            Assert.Equal(KeptAttributes(Parse(texts[i], xml: false), xml: false), KeptAttributes(Parse(output, xml: false), xml: false));
            Assert.True(translations[i].GetProperty("inputTokens").GetInt32() > 0);
            Assert.True(translations[i].GetProperty("outputTokens").GetInt32() > 0);
        }
        Assert.StartsWith("<pre>keep &lt;me&gt;</pre><p>", translations[1].GetProperty("text").GetString());
    }

    [Fact]
    public async Task HtmlWithNothingToTranslateComesBackAsItIs()
    {
        using var app = new TestApp(storage);

        var response = await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(
            Http.Json(new { text = "<code>x &amp; y</code>", format = "html" }), CancellationToken.None));

        response.ShouldBe(200);
        Assert.Equal("<code>x &amp; y</code>", response.Json.GetProperty("translations")[0].GetProperty("text").GetString());
        Assert.Equal(RepoPaths.ShippedModelName, response.Json.GetProperty("model").GetString());
    }

    [Fact]
    public async Task ExplicitTextFormatTranslatesMarkupAsPlainText()
    {
        using var app = new TestApp(storage);
        var function = app.Function<TranslateFunction>();

        var text = await Http.ExecuteAsync(function.Run(Http.Json(new { text = "Good morning.", format = "text" }),
            CancellationToken.None));
        var absent = await Http.ExecuteAsync(function.Run(Http.Json(new { text = "Good morning." }), CancellationToken.None));

        text.ShouldBe(200);
        Assert.Equal(absent.Json.GetProperty("translations").GetRawText(), text.Json.GetProperty("translations").GetRawText());
    }

    [Theory]
    [InlineData("\"xml\"", 400)]
    [InlineData("\"HTML\"", 400)]
    [InlineData("1", 400)]
    public async Task AFormatOtherThanTextOrHtmlIsA400ListingBoth(string format, int status)
    {
        using var app = new TestApp(storage);

        var response = await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(
            Http.Request("POST", $"{{\"text\": \"<p>a</p>\", \"format\": {format}}}"), CancellationToken.None));

        response.ShouldBe(status);
        Assert.StartsWith("application/problem+json", response.ContentType);
        var detail = response.Json.GetProperty("detail").GetString()!;
        Assert.Contains("'format'", detail);
        if (format.StartsWith('"'))
        {
            Assert.Contains("'text' or 'html'", detail);
        }
        Assert.Equal(0, app.Factory.Loads);
    }

    [Fact]
    public async Task TheCharacterLimitCountsTheHtmlAsSent()
    {
        using var app = new TestApp(storage, new Dictionary<string, string?> { ["Translation:MaxCharacters"] = "30" });

        var response = await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(
            Http.Json(new { text = "<p><a href=\"/a/long/path\">Hi</a></p>", format = "html" }), CancellationToken.None));

        response.ShouldBe(413);
        Assert.Equal(0, app.Factory.Loads);
    }
}
