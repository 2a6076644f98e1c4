using System.Globalization;
using Microsoft.AspNetCore.Http;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Functions;
using ServerlessInference.ModelHosting;
using ServerlessInference.Serving;
using Xunit;

namespace ServerlessInference.Tests.Compat;

/// <summary>The LibreTranslate and DeepL functions in-process, on the shipped model (English into Simplified
/// Chinese) and the micro multi-target one: shapes, keys, errors, usage.</summary>
[Collection(StorageCollection.Name)]
public sealed class CompatFunctionTests(StorageFixture storage) : IAsyncLifetime
{
    private const string Key = "compat-test-key-0123456789";
    private const string Multi = "multi";

    public Task InitializeAsync() =>
        ModelUploader.UploadDirectoryAsync(storage.Blobs.GetBlobContainerClient(StorageFixture.ModelsContainer),
            Path.Combine(RepoPaths.Fixtures, "marian-micro-languages"), "marian-micro-languages/");

    public Task DisposeAsync() => Task.CompletedTask;

    private TestApp NewApp(string? keys = Key, Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?> { ["CompatApi:Keys"] = keys, ["Translation:MaxTexts"] = "3" };
        foreach (var (name, value) in more ?? [])
        {
            settings[name] = value;
        }
        return new TestApp(storage, settings);
    }

    private TestApp NewMultiApp() => NewApp(more: new()
    {
        ["Models:Catalog:0:Name"] = RepoPaths.ShippedModelName,
        ["Models:Catalog:0:Prefix"] = RepoPaths.ShippedModelName + "/",
        ["Models:Catalog:1:Name"] = Multi,
        ["Models:Catalog:1:Prefix"] = "marian-micro-languages/",
        ["Models:Catalog:1:Languages"] = "en>zh-Hans=cmn_Hans,zh-Hant=cmn_Hant",
    });

    private static Task<TestResponse> Libre(TestApp app, string body, string contentType = "application/json") =>
        Http.ExecuteAsync(app.Function<LibreTranslateFunctions>().Translate(Http.Request("POST", body, contentType),
            CancellationToken.None));

    private static Task<TestResponse> DeepL(TestApp app, string body, string contentType = "application/x-www-form-urlencoded",
        string? key = Key)
    {
        var request = Http.Request("POST", body, contentType);
        if (key is not null)
        {
            request.Headers.Authorization = "DeepL-Auth-Key " + key;
        }

        return Http.ExecuteAsync(app.Function<DeepLFunctions>().Translate(request, CancellationToken.None));
    }

    private static HttpRequest Get(string query, string? key = Key)
    {
        var request = Http.Request("GET", contentType: null);
        request.QueryString = new QueryString(query);
        if (key is not null)
        {
            request.Headers.Authorization = "DeepL-Auth-Key " + key;
        }
        return request;
    }

    [Fact]
    public async Task LibreTranslateAnswersAStringForAStringAndAnArrayForAnArray()
    {
        using var app = NewApp();

        var one = (await Libre(app, $$"""{"q": "Hello.", "source": "en", "target": "zh", "format": "text", "api_key": "{{Key}}"}"""))
            .ShouldBe(200);
        var many = (await Libre(app,
                $$"""{"q": ["Hello.", " ", "Thank you."], "source": "auto", "target": "zh-Hans", "api_key": "{{Key}}"}"""))
            .ShouldBe(200);

        Assert.StartsWith("application/json", one.ContentType);
        Assert.False(string.IsNullOrWhiteSpace(one.Json.GetProperty("translatedText").GetString()));
        Assert.Single(one.Json.EnumerateObject());
        var texts = many.Json.GetProperty("translatedText").EnumerateArray().Select(t => t.GetString()).ToList();
        Assert.Equal(3, texts.Count);
        Assert.Equal(" ", texts[1]);
        Assert.Equal(one.Json.GetProperty("translatedText").GetString(), texts[0]);
    }

    [Fact]
    public async Task LibreTranslateTakesTheFormEncodedBodyItsDocsShow()
    {
        using var app = NewApp();

        var form = (await Libre(app, $"q=Hello.&source=en&target=zh&format=text&alternatives=2&api_key={Key}",
            "application/x-www-form-urlencoded")).ShouldBe(200);
        var json = (await Libre(app, $$"""{"q": "Hello.", "source": "en", "target": "zh", "api_key": "{{Key}}"}""")).ShouldBe(200);

        Assert.Equal(json.Json.GetProperty("translatedText").GetString(), form.Json.GetProperty("translatedText").GetString());
        Assert.Empty(form.Json.GetProperty("alternatives").EnumerateArray());
    }

    [Theory]
    [InlineData("""{"source": "en", "target": "zh"}""", "Invalid request: missing q parameter")]
    [InlineData("""{"q": "Hi", "target": "zh"}""", "Invalid request: missing source parameter")]
    [InlineData("""{"q": "Hi", "source": "en"}""", "Invalid request: missing target parameter")]
    [InlineData("""{"q": "Hi", "source": "de", "target": "zh"}""", "de is not supported")]
    [InlineData("""{"q": "Hi", "source": "en", "target": "fr"}""", "fr is not supported")]
    [InlineData("""{"q": "Hi", "source": "en", "target": "zt"}""", "zh-Hant is not supported")]
    [InlineData("""{"q": "Hi", "source": "en", "target": "zh", "format": "markdown"}""", "markdown format is not supported")]
    [InlineData("""{"q": ["a", "b", "c", "d"], "source": "en", "target": "zh"}""", "4 texts exceed the limit of 3")]
    [InlineData("""{"q": {"a": 1}, "source": "en", "target": "zh"}""", "'q' must be a string or an array of strings")]
    public async Task LibreTranslateAnswersFaultsAs400WithAnErrorField(string body, string error)
    {
        using var app = NewApp();

        var response = (await Libre(app, body.Insert(1, $"\"api_key\": \"{Key}\", "))).ShouldBe(400);

        Assert.StartsWith("application/json", response.ContentType);
        Assert.Contains(error, response.Json.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("wrong-key-0123456789")]
    public async Task LibreTranslateRefusesAMissingOrWrongKeyWith403(string? key)
    {
        using var app = NewApp();
        var field = key is null ? "" : $"\"api_key\": \"{key}\", ";

        var response = (await Libre(app, $$"""{ {{field}}"q": "Hello.", "source": "en", "target": "zh"}""")).ShouldBe(403);

        Assert.Equal("Invalid API key", response.Json.GetProperty("error").GetString());
        Assert.Equal(0, app.Get<TranslatedCharacters>().Count);
    }

    [Fact]
    public async Task LibreTranslateListsItsLanguagesWithoutAKey()
    {
        using var app = NewApp();

        var response = (await Http.ExecuteAsync(app.Function<LibreTranslateFunctions>().Languages(Get("", key: null),
            CancellationToken.None))).ShouldBe(200);

        var languages = response.Json.EnumerateArray().ToList();
        Assert.Equal("en", languages[0].GetProperty("code").GetString());
        Assert.Equal("English", languages[0].GetProperty("name").GetString());
        Assert.Equal(["zh-Hans"], languages[0].GetProperty("targets").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("zh-Hans", languages[1].GetProperty("code").GetString());
    }

    [Fact]
    public async Task WithoutConfiguredKeysEveryCompatibleRouteIs404()
    {
        using var app = NewApp(keys: null);
        var libre = app.Function<LibreTranslateFunctions>();
        var deepl = app.Function<DeepLFunctions>();

        Assert.Equal(404, (await Libre(app, """{"q": "Hello.", "source": "en", "target": "zh", "api_key": ""}""")).Status);
        Assert.Equal(404, (await Http.ExecuteAsync(libre.Languages(Get(""), CancellationToken.None))).Status);
        Assert.Equal(404, (await DeepL(app, "text=Hello.&target_lang=ZH")).Status);
        Assert.Equal(404, (await Http.ExecuteAsync(deepl.Languages(Get(""), CancellationToken.None))).Status);
        Assert.Equal(404, (await Http.ExecuteAsync(deepl.Usage(Get(""), CancellationToken.None))).Status);
    }

    [Fact]
    public async Task DeepLTranslatesRepeatedFormTextsAndAJsonArrayAlike()
    {
        using var app = NewApp();

        var form = (await DeepL(app, "text=Hello.&text=Thank%20you.&target_lang=ZH&source_lang=EN&show_billed_characters=1"))
            .ShouldBe(200);
        var json = (await DeepL(app, """{"text": ["Hello.", "Thank you."], "target_lang": "zh-HANS"}""", "application/json"))
            .ShouldBe(200);

        var translations = form.Json.GetProperty("translations").EnumerateArray().ToList();
        Assert.Equal(2, translations.Count);
        Assert.All(translations, t => Assert.Equal("EN", t.GetProperty("detected_source_language").GetString()));
        Assert.Equal(6, translations[0].GetProperty("billed_characters").GetInt32());
        Assert.Equal(translations.Select(t => t.GetProperty("text").GetString()),
            json.Json.GetProperty("translations").EnumerateArray().Select(t => t.GetProperty("text").GetString()));
        Assert.False(json.Json.GetProperty("translations")[0].TryGetProperty("billed_characters", out _));
    }

    [Theory]
    [InlineData("target_lang=ZH", 400, "Parameter 'text' not specified.")]
    [InlineData("text=Hi", 400, "Parameter 'target_lang' not specified.")]
    [InlineData("text=Hi&target_lang=FR", 400, "Value for 'target_lang' not supported.")]
    [InlineData("text=Hi&target_lang=ZH-HANT", 400, "Value for 'target_lang' not supported.")]
    [InlineData("text=Hi&target_lang=ZH&source_lang=DE", 400, "Value for 'source_lang' not supported.")]
    [InlineData("text=Hi&target_lang=ZH&tag_handling=markdown", 400, "Value for 'tag_handling' not supported.")]
    [InlineData("text=<p>Hi</b>&target_lang=ZH&tag_handling=xml", 400, "")]
    [InlineData("text=Hi&target_lang=ZH&glossary_id=g1", 400, "glossaries")]
    [InlineData("text=a&text=b&text=c&text=d&target_lang=ZH", 413, "4 texts exceed the limit of 3")]
    public async Task DeepLAnswersFaultsWithItsStatusAndAMessageField(string form, int status, string message)
    {
        using var app = NewApp();

        var response = (await DeepL(app, form)).ShouldBe(status);

        Assert.StartsWith("application/json", response.ContentType);
        Assert.Contains(message, response.Json.GetProperty("message").GetString());
    }

    [Fact]
    public async Task TwentyThousandCharactersThatNormalisationExpandsAreRefusedForTheirSourceTokens()
    {
        using var app = NewApp();
        var text = new string('\uFDFA', 20_000); // within MaxCharacters; NFKC makes each 18 characters

        var deepl = (await DeepL(app, "target_lang=ZH&text=" + Uri.EscapeDataString(text))).ShouldBe(413);
        // LibreTranslate answers 400 for every fault, its size included (as its own server does).
        var libre = (await Libre(app, System.Text.Json.JsonSerializer.Serialize(
            new { q = text, source = "en", target = "zh", api_key = Key }))).ShouldBe(400);

        Assert.Contains("Translation__MaxSourceTokens", deepl.Json.GetProperty("message").GetString());
        Assert.Contains("Translation__MaxSourceTokens", libre.Json.GetProperty("error").GetString());
    }

    [Fact]
    public async Task LibreTranslateFormatHtmlKeepsTheMarkupAndTranslatesTheText()
    {
        using var app = NewApp();

        var response = (await Libre(app, $$"""
            {"api_key": "{{Key}}", "q": ["<p>I like <b>tea</b>.</p>", "<ul><li>Good morning.</li></ul>"],
             "source": "en", "target": "zh", "format": "html"}
            """)).ShouldBe(200);

        var texts = response.Json.GetProperty("translatedText").EnumerateArray().Select(t => t.GetString()!).ToList();
        Assert.StartsWith("<p>", texts[0]);
        Assert.EndsWith("</p>", texts[0]);
        Assert.Contains("<b>", texts[0]);
        Assert.Contains("</b>", texts[0]);
        Assert.StartsWith("<ul><li>", texts[1]);
        Assert.All(texts, t => Assert.Contains(t, c => c >= '\u4e00' && c <= '\u9fff'));
    }

    [Theory]
    [InlineData("html", "text=%3Cp%3EI%20like%20%3Cem%3Etea%3C%2Fem%3E.%3C%2Fp%3E&target_lang=ZH&tag_handling=html", "<p>", "<em>")]
    [InlineData("xml", "text=%3Cs%3EI%20like%20%3Cw%3Etea%3C%2Fw%3E.%3C%2Fs%3E&target_lang=ZH&tag_handling=xml", "<s>", "<w>")]
    public async Task DeepLTagHandlingKeepsTheTagsAndTranslatesTheText(string mode, string form, string outer, string inner)
    {
        using var app = NewApp();

        var response = (await DeepL(app, form)).ShouldBe(200);

        var text = response.Json.GetProperty("translations")[0].GetProperty("text").GetString()!;
        Assert.True(text.StartsWith(outer, StringComparison.Ordinal) && text.Contains(inner, StringComparison.Ordinal), $"{mode}: {text}");
        Assert.Contains(text, c => c >= '\u4e00' && c <= '\u9fff');
    }

    [Fact]
    public async Task DeepLRefusesAMissingWrongOrOtherSchemeKeyWith403OnEveryRoute()
    {
        using var app = NewApp();
        var deepl = app.Function<DeepLFunctions>();

        Assert.Equal(403, (await DeepL(app, "text=Hello.&target_lang=ZH", key: null)).Status);
        Assert.Equal(403, (await DeepL(app, "text=Hello.&target_lang=ZH", key: "wrong-key-0123456789")).Status);
        var bearer = Http.Request("POST", "text=Hello.&target_lang=ZH", "application/x-www-form-urlencoded");
        bearer.Headers.Authorization = "Bearer " + Key;
        var refused = (await Http.ExecuteAsync(deepl.Translate(bearer, CancellationToken.None))).ShouldBe(403);
        Assert.Contains("DeepL-Auth-Key", refused.Json.GetProperty("message").GetString());
        Assert.Equal(403, (await Http.ExecuteAsync(deepl.Usage(Get("", key: null), CancellationToken.None))).Status);
        Assert.Equal(403, (await Http.ExecuteAsync(deepl.Languages(Get("?type=target", key: "x"), CancellationToken.None))).Status);
        Assert.Equal(0, app.Get<TranslatedCharacters>().Count);
    }

    [Fact]
    public async Task UsageCountsTheCharactersThisInstanceTranslatedThroughEveryApi()
    {
        using var app = NewApp();
        var usage = app.Function<DeepLFunctions>();
        var before = (await Http.ExecuteAsync(usage.Usage(Get(""), CancellationToken.None))).ShouldBe(200);

        (await DeepL(app, "text=Hello.&text=Thank%20you.&target_lang=ZH")).ShouldBe(200);
        (await Libre(app, $$"""{"q": "Good night.", "source": "en", "target": "zh", "api_key": "{{Key}}"}""")).ShouldBe(200);
        (await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(Http.Json(new { text = "Tea." }), CancellationToken.None)))
            .ShouldBe(200);
        (await DeepL(app, "text=Hi&target_lang=FR")).ShouldBe(400);
        var after = (await Http.ExecuteAsync(usage.Usage(Get(""), CancellationToken.None))).ShouldBe(200);

        Assert.Equal(0, before.Json.GetProperty("character_count").GetInt64());
        Assert.Equal("Hello.".Length + "Thank you.".Length + "Good night.".Length + "Tea.".Length,
            after.Json.GetProperty("character_count").GetInt64());
        Assert.True(after.Json.GetProperty("character_limit").GetInt64() > after.Json.GetProperty("character_count").GetInt64());
    }

    [Fact]
    public async Task DeepLListsSourceAndTargetLanguages()
    {
        using var app = NewApp();
        var deepl = app.Function<DeepLFunctions>();

        var sources = (await Http.ExecuteAsync(deepl.Languages(Get(""), CancellationToken.None))).ShouldBe(200);
        var targets = (await Http.ExecuteAsync(deepl.Languages(Get("?type=target"), CancellationToken.None))).ShouldBe(200);
        var bad = (await Http.ExecuteAsync(deepl.Languages(Get("?type=both"), CancellationToken.None))).ShouldBe(400);

        Assert.Equal("""[{"language":"EN","name":"English"}]""", sources.Body);
        Assert.Equal(["ZH", "ZH-HANS"], targets.Json.EnumerateArray().Select(l => l.GetProperty("language").GetString()));
        Assert.False(targets.Json[0].GetProperty("supports_formality").GetBoolean());
        Assert.Contains("type", bad.Json.GetProperty("message").GetString());
    }

    [Fact]
    public async Task ABusyInstanceAnswersDeepLAndLibreTranslateWith429AndRetryAfter()
    {
        using var app = NewApp(more: new() { ["Serving:MaxPendingSentences"] = "100" });
        (await DeepL(app, "text=Hello.&target_lang=ZH")).ShouldBe(200);
        var backlog = app.Get<ServingBacklog>();
        backlog.Admit(10, WorkPriority.Interactive);
        backlog.Completed(10, TimeSpan.FromSeconds(1), measured: true);
        backlog.Admit(100, WorkPriority.Interactive);
        var retryAfter = ((int)Math.Ceiling(backlog.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

        var deepl = (await DeepL(app, "text=Hello.&target_lang=ZH")).ShouldBe(429);
        var libre = (await Libre(app, $$"""{"q": "Hello.", "source": "en", "target": "zh", "api_key": "{{Key}}"}""")).ShouldBe(429);

        Assert.Equal(retryAfter, deepl.Headers.RetryAfter.ToString());
        Assert.Contains("busy", deepl.Json.GetProperty("message").GetString());
        Assert.Equal(retryAfter, libre.Headers.RetryAfter.ToString());
        Assert.Contains("busy", libre.Json.GetProperty("error").GetString());
        backlog.Withdrawn(100);
    }

    [Fact]
    public async Task AModelStillUnavailableIs503WithRetryAfterInTheApisShape()
    {
        using var app = NewApp(more: new()
        {
            ["Models:Catalog:0:Name"] = RepoPaths.ShippedModelName,
            ["Models:Catalog:0:Prefix"] = "no-such-folder/",
        });

        var deepl = (await DeepL(app, "text=Hello.&target_lang=ZH")).ShouldBe(503);

        Assert.False(string.IsNullOrEmpty(deepl.Headers.RetryAfter.ToString()));
        Assert.True(deepl.Json.TryGetProperty("message", out _));
    }

    [Fact]
    public async Task ATargetVariantSelectsTheModelsTargetToken()
    {
        using var app = NewMultiApp();
        const string text = "The weather is nice today.";

        var hant = (await DeepL(app, $"text={Uri.EscapeDataString(text)}&target_lang=ZH-HANT")).ShouldBe(200);
        var hans = (await DeepL(app, $"text={Uri.EscapeDataString(text)}&target_lang=ZH-HANS")).ShouldBe(200);
        var native = (await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(
            Http.Json(new { text, model = Multi, targetLanguage = "cmn_Hant" }), CancellationToken.None))).ShouldBe(200);
        var shipped = (await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(Http.Json(new { text }), CancellationToken.None)))
            .ShouldBe(200);

        Assert.Equal(native.Json.GetProperty("translations")[0].GetProperty("text").GetString(),
            hant.Json.GetProperty("translations")[0].GetProperty("text").GetString());
        Assert.Equal(shipped.Json.GetProperty("translations")[0].GetProperty("text").GetString(),
            hans.Json.GetProperty("translations")[0].GetProperty("text").GetString());
    }
}
