using System.Text.Json;
using ServerlessInference.Functions;
using ServerlessInference.Telemetry;
using ServerlessInference.Tests.Support;
using Xunit;

namespace ServerlessInference.Tests;

[Collection(StorageCollection.Name)]
public sealed class TranslateApiTests(StorageFixture storage)
{
    private static Dictionary<string, string?> SmallLimits => new()
    {
        ["Translation:MaxTexts"] = "3",
        ["Translation:MaxCharacters"] = "50",
        ["Translation:MaxBeams"] = "4",
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
        { "beams above the limit", "{\"text\": \"a\", \"beams\": 5}", "application/json", 400 },
        { "beams as a string", "{\"text\": \"a\", \"beams\": \"2\"}", "application/json", 400 },
        { "maxNewTokens zero", "{\"text\": \"a\", \"maxNewTokens\": 0}", "application/json", 400 },
        { "maxNewTokens fractional", "{\"text\": \"a\", \"maxNewTokens\": 1.5}", "application/json", 400 },
        { "model not a string", "{\"text\": \"a\", \"model\": 1}", "application/json", 400 },
        { "too many texts", "{\"texts\": [\"a\", \"b\", \"c\", \"d\"]}", "application/json", 413 },
        { "too many characters", JsonSerializer.Serialize(new { texts = new[] { new string('a', 30), new string('b', 21) } }), "application/json", 413 },
        { "body far too large", JsonSerializer.Serialize(new { text = new string('a', 400_000) }), "application/json", 413 },
        { "plain text", "{\"text\": \"a\"}", "text/plain", 415 },
        { "no content type", "{\"text\": \"a\"}", null, 415 },
        { "unknown model", "{\"text\": \"a\", \"model\": \"fr-de\"}", "application/json", 404 },
    };

    [Theory]
    [MemberData(nameof(InvalidRequests))]
    public async Task InvalidRequestIsAnsweredWithProblemDetails(string because, string? body, string? contentType, int status)
    {
        using var app = new TestApp(storage, SmallLimits);

        var response = await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(Http.Request("POST", body, contentType), CancellationToken.None));

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
        var direct = await app.Get<Models.TranslationService>().TranslateAsync(null, texts, new() { Beams = 2, MaxNewTokens = 40 }, "test", CancellationToken.None);
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
    public async Task HealthIsAnonymousLivenessAndReportsModelStatesWithoutLoading()
    {
        using var app = new TestApp(storage);
        var health = app.Function<HealthFunction>();

        var before = await Http.ExecuteAsync(health.Run(Http.Request("GET")));
        before.ShouldBe(200);
        Assert.Equal("alive", before.Json.GetProperty("status").GetString());
        Assert.Equal("notLoaded", before.Json.GetProperty("models")[0].GetProperty("state").GetString());
        Assert.Equal(0, app.Factory.Loads);

        await app.Function<TranslateFunction>().Run(Http.Json(new { text = "Hello." }), CancellationToken.None);
        var after = await Http.ExecuteAsync(health.Run(Http.Request("GET")));
        var model = after.Json.GetProperty("models")[0];
        Assert.Equal(RepoPaths.ShippedModelName, model.GetProperty("name").GetString());
        Assert.True(model.GetProperty("state").GetString() == "ready", after.Body);
    }

    [Fact]
    public async Task TranslationEmitsLatencyTokenAndBatchMetricsThroughTheTelemetryClient()
    {
        using var app = new TestApp(storage);
        await app.Function<TranslateFunction>().Run(Http.Json(new { texts = new[] { "One.", "Two." } }), CancellationToken.None);

        var t = app.Telemetry;
        var download = Assert.Single(t.Metrics(InferenceTelemetry.Metrics.ModelDownloadBytes));
        var expectedBytes = Directory.GetFiles(RepoPaths.ShippedModel, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.Equal(expectedBytes, download.Sum);
        Assert.Equal(RepoPaths.ShippedModelName, download.Properties["Model"]);
        Assert.Single(t.Metrics(InferenceTelemetry.Metrics.ModelDownloadDurationMs));
        Assert.Single(t.Metrics(InferenceTelemetry.Metrics.SessionCreationMs));
        Assert.Single(t.Metrics(InferenceTelemetry.Metrics.TranslateLatencyMs));
        Assert.Equal(2, Assert.Single(t.Metrics(InferenceTelemetry.Metrics.BatchSize)).Sum);
        Assert.True(Assert.Single(t.Metrics(InferenceTelemetry.Metrics.InputTokens)).Sum > 0);
        Assert.True(Assert.Single(t.Metrics(InferenceTelemetry.Metrics.OutputTokens)).Sum > 0);
        Assert.Equal("http", t.Metrics(InferenceTelemetry.Metrics.TranslateLatencyMs)[0].Properties["Source"]);
    }
}
