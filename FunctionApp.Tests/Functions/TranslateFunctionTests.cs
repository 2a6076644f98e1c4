using System.Text.Json;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Functions;
using ServerlessInference.Serving;
using ServerlessInference.Telemetry;
using Xunit;

namespace ServerlessInference.Tests.Functions;

[Collection(StorageCollection.Name)]
public sealed class TranslateFunctionTests(StorageFixture storage)
{
    private static Dictionary<string, string?> SmallLimits => new()
    {
        ["Translation:MaxTexts"] = "3",
        ["Translation:MaxCharacters"] = "50",
        ["Engine:MaxBeams"] = "4",
    };

    public static TheoryData<string, string?, string?, int> InvalidRequests => new()
    {
        { "not JSON", "{\"text\": ", "application/json", 400 },
        { "not an object", "[\"hello\"]", "application/json", 400 },
        { "no text", "{}", "application/json", 400 },
        { "text not a string", "{\"text\": 5}", "application/json", 400 },
        { "empty texts", "{\"texts\": []}", "application/json", 400 },
        { "texts holding a number", "{\"texts\": [\"a\", 3]}", "application/json", 400 },
        { "text and texts", "{\"text\": \"a\", \"texts\": [\"b\"]}", "application/json", 400 },
        { "blank text", "{\"text\": \"  \"}", "application/json", 400 },
        { "unknown field", "{\"text\": \"a\", \"beam\": 2}", "application/json", 400 },
        { "beams zero", "{\"text\": \"a\", \"beams\": 0}", "application/json", 400 },
        { "beams as a string", "{\"text\": \"a\", \"beams\": \"2\"}", "application/json", 400 },
        { "maxNewTokens zero", "{\"text\": \"a\", \"maxNewTokens\": 0}", "application/json", 400 },
        { "maxNewTokens fractional", "{\"text\": \"a\", \"maxNewTokens\": 1.5}", "application/json", 400 },
        { "model not a string", "{\"text\": \"a\", \"model\": 1}", "application/json", 400 },
        { "too many texts", "{\"texts\": [\"a\", \"b\", \"c\", \"d\"]}", "application/json", 413 },
        { "too many characters", JsonSerializer.Serialize(new { texts = new[] { new string('a', 30), new string('b', 21) } }),
            "application/json", 413 },
        { "body far too large", JsonSerializer.Serialize(new { text = new string('a', 400_000) }), "application/json", 413 },
        { "plain text", "{\"text\": \"a\"}", "text/plain", 415 },
        { "no content type", "{\"text\": \"a\"}", null, 415 },
        { "unknown model", "{\"text\": \"a\", \"model\": \"fr-de\"}", "application/json", 404 },
        { "only control characters", "{\"text\": \"\\u0000\\u0007\"}", "application/json", 400 },
        { "only control characters among texts", "{\"texts\": [\"a\", \"\\u001b\\u0000\"]}", "application/json", 400 },
        { "empty model", "{\"text\": \"a\", \"model\": \"\"}", "application/json", 400 },
        { "blank model", "{\"text\": \"a\", \"model\": \"   \"}", "application/json", 400 },
        { "utf-16 charset", "{\"text\": \"a\"}", "application/json; charset=utf-16", 415 },
        { "latin-1 charset", "{\"text\": \"a\"}", "application/json; charset=iso-8859-1", 415 },
        { "unknown field with a lone surrogate", "{\"text\": \"a\", \"\\ud800x\": 1}", "application/json", 400 },
        { "nested too deep", new string('[', 100) + new string(']', 100), "application/json", 400 },
    };

    [Theory]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json; charset=UTF-8")]
    [InlineData("application/problem+json")]
    [InlineData("application/json; charset=\"utf-8\"")]
    public async Task Utf8OrUnspecifiedCharsetIsAccepted(string contentType)
    {
        using var app = new TestApp(storage, SmallLimits);

        var response = await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(
            Http.Request("POST", "{\"text\": \"Hello.\"}", contentType), CancellationToken.None));

        response.ShouldBe(200);
    }

    [Fact]
    public async Task ACallersNameIsQuotedBackCutShort()
    {
        using var app = new TestApp(storage, SmallLimits);
        var name = new string('x', 5000);

        var field = await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(
            Http.Request("POST", $"{{\"text\": \"a\", \"{name}\": 1}}"), CancellationToken.None));
        var model = await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(
            Http.Json(new { text = "a", model = name }), CancellationToken.None));

        field.ShouldBe(400);
        model.ShouldBe(404);
        Assert.All([field, model], r => Assert.InRange(r.Json.GetProperty("detail").GetString()!.Length, 1, 300));
    }

    [Fact]
    public async Task TwentyThousandCharactersThatNormalisationExpandsAre413NamingTheTokenLimit()
    {
        // The reported failure: 20,000 × U+FDFA passes the character limit, but NFKC makes each 18 characters
        // (~120,000 source tokens). The request is refused before the engine runs, and the answer names the setting.
        using var app = new TestApp(storage);

        var response = await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(
            Http.Json(new { text = new string('\uFDFA', 20_000) }), CancellationToken.None));

        response.ShouldBe(413);
        Assert.StartsWith("application/problem+json", response.ContentType);
        var detail = response.Json.GetProperty("detail").GetString()!;
        Assert.Contains("Translation__MaxSourceTokens", detail);
        Assert.Contains("8192", detail);
    }

    [Fact]
    public async Task InvalidUtf8IsA400()
    {
        using var app = new TestApp(storage, SmallLimits);
        byte[] body = [.. "{\"text\": \"a"u8, 0xFF, 0xFE, .. "\"}"u8];

        var response = await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(Http.Raw(body), CancellationToken.None));

        response.ShouldBe(400);
        Assert.StartsWith("application/problem+json", response.ContentType);
        Assert.Contains("UTF-8", response.Json.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task EscapedLoneSurrogatesTranslateAsTheReplacementCharacter()
    {
        using var app = new TestApp(storage);
        var function = app.Function<TranslateFunction>();

        var lone = await Http.ExecuteAsync(function.Run(Http.Request("POST",
            "{\"texts\": [\"\\ud800\", \"I like \\udc00 tea.\", \"\\ud83d\\ude00 Good night.\"]}"), CancellationToken.None));
        string[] replacedTexts = ["\uFFFD", "I like \uFFFD tea.", "😀 Good night."];
        var replaced = await Http.ExecuteAsync(function.Run(Http.Json(new { texts = replacedTexts }), CancellationToken.None));

        lone.ShouldBe(200);
        replaced.ShouldBe(200);
        Assert.Equal(replaced.Json.GetProperty("translations").GetRawText(), lone.Json.GetProperty("translations").GetRawText());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task BodyOverTheConfiguredLimitIs413WithOrWithoutContentLength(bool contentLength)
    {
        using var app = new TestApp(storage, new Dictionary<string, string?> { ["Http:MaxRequestBodyBytes"] = "2048" });
        var body = JsonSerializer.SerializeToUtf8Bytes(new { text = new string('a', 3000) });

        var response = await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(
            Http.Raw(body, contentLength: contentLength), CancellationToken.None));

        response.ShouldBe(413);
        Assert.StartsWith("application/problem+json", response.ContentType);
        Assert.Contains("2048", response.Json.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task KestrelRejectingTheBodyWhileItIsReadIsAnsweredWithItsStatus()
    {
        using var app = new TestApp(storage);
        // What the worker's Kestrel throws from the body stream once a chunked body passes its MaxRequestBodySize.
        var body = new ThrowingStream(new Microsoft.AspNetCore.Http.BadHttpRequestException("Request body too large.", 413));

        var response = await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(
            Http.Raw(body, "application/json", null), CancellationToken.None));

        response.ShouldBe(413);
        Assert.StartsWith("application/problem+json", response.ContentType);
    }

    [Fact]
    public async Task MaxNewTokensAboveTheModelsLimitIsA400NamingTheModelsRange()
    {
        using var app = new TestApp(storage);

        var response = await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(
            Http.Json(new { text = "Hello.", maxNewTokens = 200 }), CancellationToken.None));

        response.ShouldBe(400);
        var detail = response.Json.GetProperty("detail").GetString()!;
        Assert.Contains("between 1 and 127", detail);
        Assert.Contains(RepoPaths.ShippedModelName, detail);
        Assert.DoesNotContain("Parameter", detail);
    }

    [Fact]
    public async Task BeamsAboveTheEngineLimitAre400NamingTheModelsRange()
    {
        using var app = new TestApp(storage, SmallLimits);

        var response = await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(
            Http.Json(new { text = "Hello.", beams = 5 }), CancellationToken.None));

        response.ShouldBe(400);
        var detail = response.Json.GetProperty("detail").GetString()!;
        Assert.Contains("'beams' must be between 1 and 4", detail);
        Assert.Contains(RepoPaths.ShippedModelName, detail);
    }

    [Fact]
    public async Task StorageUnreachableWhileLoadingIs503WithRetryAfter()
    {
        using var app = new TestApp(storage, new Dictionary<string,
            string?>
        { ["AzureWebJobsStorage"] = StorageFixture.UnreachableConnectionString() });

        var response = await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(Http.Json(new { text = "Hello." }),
            CancellationToken.None));

        response.ShouldBe(503);
        Assert.False(string.IsNullOrEmpty(response.Headers.RetryAfter.ToString()));
        Assert.Contains("unreachable", response.Json.GetProperty("detail").GetString());
    }

    [Theory]
    [MemberData(nameof(InvalidRequests))]
    public async Task InvalidRequestIsAnsweredWithProblemDetails(string because, string? body, string? contentType, int status)
    {
        using var app = new TestApp(storage, SmallLimits);

        var response = await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(Http.Request("POST", body, contentType),
            CancellationToken.None));

        Assert.True(status == response.Status, $"{because}: expected {status}, got {response.Status} {response.Body}");
        Assert.StartsWith("application/problem+json", response.ContentType);
        Assert.Equal(status, response.Json.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(response.Json.GetProperty("detail").GetString()));
        Assert.DoesNotContain(" at ServerlessInference", response.Body);
        Assert.Equal(0, app.Factory.Loads); // rejected before any model work
    }

    [Fact]
    public async Task TranslatesABatchInInputOrderAndReportsTokensAndModel()
    {
        using var app = new TestApp(storage);
        string[] texts = ["Good morning.", "I like tea.", "Where is the station?"];

        var response = await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(
            Http.Json(new { texts, beams = 2, maxNewTokens = 40 }), CancellationToken.None));

        response.ShouldBe(200);
        Assert.StartsWith("application/json", response.ContentType);
        var json = response.Json;
        Assert.Equal(RepoPaths.ShippedModelName, json.GetProperty("model").GetString());
        Assert.True(json.GetProperty("durationMs").GetDouble() >= 0);
        var translations = json.GetProperty("translations").EnumerateArray().ToList();
        Assert.Equal(3, translations.Count);
        Assert.All(translations, t =>
        {
            Assert.False(string.IsNullOrWhiteSpace(t.GetProperty("text").GetString()));
            Assert.True(t.GetProperty("inputTokens").GetInt32() > 0);
            Assert.True(t.GetProperty("outputTokens").GetInt32() > 0);
        });
        var request = new TranslationRequest(texts) { Beams = 2, MaxNewTokens = 40 };
        var direct = await app.Get<TranslationService>().TranslateAsync(null, request, "test", WorkPriority.Interactive,
            CancellationToken.None);
        Assert.Equal(direct.Result.Translations.Select(t => t.Text), translations.Select(t => t.GetProperty("text").GetString()));
    }

    [Theory]
    [InlineData("\ufdfa", 2)]
    [InlineData("\u2026", 43)]
    [InlineData("\ufb03", 50)]
    [InlineData("\u216b", 50)]
    public async Task TextThatNormalisationMakesMuchLongerIsTranslated(string unit, int count)
    {
        // SentencePiece's NFKC rewrites these into several characters each (ﷺ into 18); they once answered 500.
        using var app = new TestApp(storage);
        var text = string.Concat(Enumerable.Repeat(unit, count));

        var response = await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(
            Http.Json(new { text, maxNewTokens = 8 }), CancellationToken.None));

        response.ShouldBe(200);
        Assert.True(response.Json.GetProperty("translations")[0].GetProperty("inputTokens").GetInt32() > count);
    }

    [Fact]
    public async Task SingleTextWithCharsetContentTypeIsTranslated()
    {
        using var app = new TestApp(storage);
        var response = await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(
            Http.Request("POST", "{\"text\": \"Thank you.\", \"model\": \"MARIAN-TINY-EN-ZH\"}", "application/json; charset=utf-8"),
            CancellationToken.None));
        response.ShouldBe(200);
        Assert.Single(response.Json.GetProperty("translations").EnumerateArray());
    }

    [Fact]
    public async Task ABusyInstanceAnswers503WithRetryAfterFromItsBacklogAndServesAgainOnceItDrains()
    {
        using var app = new TestApp(storage, new Dictionary<string, string?> { ["Serving:MaxPendingSentences"] = "100" });
        var translate = app.Function<TranslateFunction>();
        (await Http.ExecuteAsync(translate.Run(Http.Json(new { text = "Hello." }), CancellationToken.None))).ShouldBe(200);
        // Other callers' work, held in the instance's own backlog, at an engine speed of 10 sentences a second.
        var backlog = app.Get<ServingBacklog>();
        backlog.Admit(10, WorkPriority.Interactive);
        backlog.Completed(10, TimeSpan.FromSeconds(1), measured: true);
        backlog.Admit(100, WorkPriority.Interactive);

        var busy = await Http.ExecuteAsync(translate.Run(Http.Json(new { text = "Hello." }), CancellationToken.None));

        busy.ShouldBe(503);
        Assert.StartsWith("application/problem+json", busy.ContentType);
        Assert.Equal(((int)Math.Ceiling(backlog.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture),
            busy.Headers.RetryAfter.ToString());
        Assert.Contains("busy", busy.Json.GetProperty("detail").GetString());
        var health = await Http.ExecuteAsync(app.Function<HealthFunction>().Run(Http.Request("GET")));
        Assert.Equal(100, health.Json.GetProperty("backlog").GetProperty("pendingSentences").GetInt64());
        Assert.Equal(100, health.Json.GetProperty("backlog").GetProperty("maxPendingSentences").GetInt32());

        backlog.Withdrawn(100);
        (await Http.ExecuteAsync(translate.Run(Http.Json(new { text = "Hello." }), CancellationToken.None))).ShouldBe(200);
    }

    [Fact]
    public async Task AFailingEngineRunAnswersItsCallerWithProblemJsonAndTheModelKeepsServing()
    {
        using var app = new TestApp(storage);
        app.Factory.FailWhen = settings => settings.Beams == 3;
        var translate = app.Function<TranslateFunction>();

        var failed = await Http.ExecuteAsync(translate.Run(Http.Json(new { text = "Hello.", beams = 3 }), CancellationToken.None));
        var served = await Http.ExecuteAsync(translate.Run(Http.Json(new { text = "Hello.", beams = 1 }), CancellationToken.None));

        failed.ShouldBe(500);
        Assert.StartsWith("application/problem+json", failed.ContentType);
        Assert.Contains("unexpected error", failed.Json.GetProperty("detail").GetString());
        Assert.DoesNotContain(TrackingEngineFactory.FailureMessage, failed.Body);
        served.ShouldBe(200);
        Assert.Equal(1, app.Factory.Loads); // the model stayed loaded; nothing was reloaded or evicted
        Assert.Equal(0, app.Get<ServingBacklog>().PendingSentences);
    }

    [Fact]
    public async Task AnArgumentExceptionFromInsideTheEngineIsA500NotABadRequestAndItsMessageStaysInTheLogs()
    {
        using var app = new TestApp(storage);
        // An internal bug (a wrong argument between the engine's own parts), not anything the caller sent.
        app.Factory.FailWhen = _ => true;
        app.Factory.FailWith = () => new ArgumentException(TrackingEngineFactory.FailureMessage);
        var translate = app.Function<TranslateFunction>();

        var failed = await Http.ExecuteAsync(translate.Run(Http.Json(new { text = "Hello." }), CancellationToken.None));

        failed.ShouldBe(500);
        Assert.StartsWith("application/problem+json", failed.ContentType);
        Assert.DoesNotContain(TrackingEngineFactory.FailureMessage, failed.Body);
        var telemetry = app.FlushTelemetry();
        Assert.Equal(1, telemetry.Count(InferenceTelemetry.Instruments.TranslationDuration,
            InferenceTelemetry.Attributes.Outcome, InferenceTelemetry.Outcomes.Error));
        Assert.Equal(0, telemetry.Count(InferenceTelemetry.Instruments.TranslationDuration,
            InferenceTelemetry.Attributes.Outcome, InferenceTelemetry.Outcomes.InvalidInput));
    }
}
