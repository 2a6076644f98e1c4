using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using ServerlessInference.Tests.Support;

namespace ServerlessInference.E2ETests.Http;

/// <summary>Every endpoint through the host as callers reach it: keys, answers, and every documented error status as
/// problem+json.</summary>
[Collection(HostCollection.Name)]
public sealed class EndpointTests(HostFixture fixture)
{
    private FunctionsHost Host => fixture.Host;

    [HostFact]
    public async Task HealthAnswersWithoutAKeyAndNamesEveryCatalogModel()
    {
        var json = (await Host.SendAsync(HttpMethod.Get, "api/health", withKey: false)).ShouldBe(200);

        Assert.Equal("alive", json.GetProperty("status").GetString());
        var names = json.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("name").GetString()).Order().ToList();
        Assert.Equal([HostFixture.BrokenModel, AppInstance.ModelName], names);
    }

    [HostFact]
    public async Task KeyedEndpointsRefuseCallsWithoutAValidKeyAndServeThemWithOne()
    {
        var job = await SubmitAsync(["Hello."]);
        (string Method, string Path, object? Body, int Ok)[] endpoints =
        [
            ("POST", "api/translate", new { text = "Hello." }, 200),
            ("POST", "api/jobs", new { texts = new[] { "Hello." } }, 202),
            ("GET", $"api/jobs/{job}", null, 200),
        ];
        foreach (var (method, path, body, ok) in endpoints)
        {
            var none = await Host.SendAsync(new HttpMethod(method), path, body, withKey: false);
            Assert.True(none.Status == 401, $"{method} {path} without a key: {none}");

            using (var wrong = Host.Request(new HttpMethod(method), path, body, withKey: false))
            {
                wrong.Headers.Add("x-functions-key", "not-the-key");
                Assert.Equal(401, (await Host.SendAsync(wrong)).Status);
            }

            Assert.Equal(ok, (await Host.SendAsync(new HttpMethod(method), path, body)).Status);
            var query = await Host.SendAsync(new HttpMethod(method), $"{path}?code={Uri.EscapeDataString(Host.FunctionKey)}", body,
                withKey: false);
            Assert.True(query.Status == ok, $"{method} {path}?code=: {query}");
        }
    }

    [HostFact]
    public async Task TranslateAnswersOneTextAndManyInOrder()
    {
        var one = (await Host.SendAsync(HttpMethod.Post, "api/translate", new { text = "Hello." })).ShouldBe(200);
        Assert.Equal(AppInstance.ModelName, one.GetProperty("model").GetString());
        Assert.False(string.IsNullOrWhiteSpace(one.GetProperty("translations")[0].GetProperty("text").GetString()));

        string[] texts = ["Good night.", "I like tea.", "Where is the station?"];
        var many = (await Host.SendAsync(HttpMethod.Post, "api/translate", new { texts, beams = 2 })).ShouldBe(200);
        var translations = many.GetProperty("translations").EnumerateArray().Select(t => t.GetProperty("text").GetString()).ToList();
        Assert.Equal(3, translations.Count);
        for (var i = 0; i < texts.Length; i++)
        {
            var alone = (await Host.SendAsync(HttpMethod.Post, "api/translate", new { text = texts[i], beams = 2 })).ShouldBe(200);
            Assert.Equal(alone.GetProperty("translations")[0].GetProperty("text").GetString(), translations[i]);
        }
    }

    [HostFact]
    public async Task HtmlFormatKeepsTheMarkupAndTranslatesTheText()
    {
        var html = "<ul><li>I like <b>tea</b>.</li><li><code>x = 1</code></li></ul>";
        var json = (await Host.SendAsync(HttpMethod.Post, "api/translate", new { text = html, format = "html" })).ShouldBe(200);

        var text = json.GetProperty("translations")[0].GetProperty("text").GetString()!;
        Assert.StartsWith("<ul><li>", text);
        Assert.EndsWith("<li><code>x = 1</code></li></ul>", text); // code is left as it is
        Assert.Contains("<b>", text);
        Assert.Contains(text, c => c >= '\u4e00' && c <= '\u9fff');
    }

    [HostFact]
    public async Task EveryDocumentedErrorStatusIsProblemJson()
    {
        Assert.Contains("not valid JSON", (await PostRawAsync("api/translate", "{\"text\":", "application/json")).ShouldBeProblem(400));
        Assert.Contains("Unknown model",
            (await Host.SendAsync(HttpMethod.Post, "api/translate", new { text = "Hi.", model = "nope" })).ShouldBeProblem(404));
        Assert.Contains("No job", (await Host.SendAsync(HttpMethod.Get, $"api/jobs/{new string('a', 32)}")).ShouldBeProblem(404));
        Assert.Contains("'jobId' must be", (await Host.SendAsync(HttpMethod.Get, "api/jobs/not-a-job")).ShouldBeProblem(400));
        Assert.Contains("exceed the limit",
            (await Host.SendAsync(HttpMethod.Post, "api/translate", new { texts = Enumerable.Repeat("Hi.", 65).ToArray() }))
            .ShouldBeProblem(413));
        Assert.Contains("Content-Type", (await PostRawAsync("api/translate", "{\"text\":\"Hi.\"}", "text/plain")).ShouldBeProblem(415));
        Assert.Contains("charset",
            (await PostRawAsync("api/jobs", "{\"texts\":[\"Hi.\"]}", "application/json; charset=utf-16")).ShouldBeProblem(415));
    }

    [HostFact]
    public async Task AModelThatFailsToLoadIsA503WithRetryAfterAndHealthSaysWhy()
    {
        var answer = await Host.SendAsync(HttpMethod.Post, "api/translate", new { text = "Hello.", model = HostFixture.BrokenModel });

        Assert.Contains(HostFixture.BrokenModel, answer.ShouldBeProblem(503));
        Assert.True(answer.IsRetryableUnavailable, answer.ToString());
        var health = (await Host.SendAsync(HttpMethod.Get, "api/health", withKey: false)).ShouldBe(200);
        var broken = health.GetProperty("models").EnumerateArray()
            .Single(m => m.GetProperty("name").GetString() == HostFixture.BrokenModel);
        Assert.Equal("failed", broken.GetProperty("state").GetString());
        Assert.Contains("encoder_model.onnx", broken.GetProperty("reason").GetString());
        // The default model is untouched by its neighbour's failure.
        (await Host.SendAsync(HttpMethod.Post, "api/translate", new { text = "Hello." })).ShouldBe(200);
    }

    /// <summary>Duplicate keys: one rule for every JSON the app reads. Over HTTP a repeated field is a 400 (the
    /// queue's rule; JobTests holds messages to it), not "the last one wins".</summary>
    [HostFact]
    public async Task ARepeatedFieldIsRejectedNotLastOneWins()
    {
        var translate = await PostRawAsync("api/translate", "{\"text\":\"Hello.\",\"beams\":99,\"beams\":1}", "application/json");
        Assert.Contains("beams", translate.ShouldBeProblem(400));

        var nested = await PostRawAsync("api/jobs", "{\"texts\":[\"Hello.\"],\"model\":\"x\",\"model\":null}", "application/json");
        nested.ShouldBeProblem(400);
    }

    /// <summary>Characters are counted before normalisation, tokens after: a text that NFKC expands 18-fold is
    /// within the character limit, yet turned away by the token bound before it reaches the engine.</summary>
    [HostFact]
    public async Task TextThatNormalisationExpandsIsRefusedBeforeItBuysEngineTime()
    {
        var started = Stopwatch.GetTimestamp();
        var answer = await Host.SendAsync(HttpMethod.Post, "api/translate", new { text = new string('\uFDFA', 20_000) });
        var elapsed = Stopwatch.GetElapsedTime(started);

        var detail = answer.ShouldBeProblem(413);
        Assert.Contains("Translation__MaxSourceTokens", detail);
        Assert.Contains("8192", detail);
        // Not a speed assertion: 20,000 × U+FDFA is ~120,000 source tokens, which the engine needs ~40 s for.
        Assert.True(elapsed < TimeSpan.FromSeconds(20), $"the refusal took {elapsed}: the text reached the engine");

        // A full-size request of ordinary text still passes: the bound is on work, not on honest length.
        var english = string.Join(' ', Enumerable.Repeat("The weather is nice today and we will go for a walk.", 300));
        Assert.True(english.Length < 20_000);
        (await Host.SendAsync(HttpMethod.Post, "api/translate", new { text = english })).ShouldBe(200);
    }

    private async Task<string> SubmitAsync(string[] texts)
    {
        var json = (await Host.SendAsync(HttpMethod.Post, "api/jobs", new { texts })).ShouldBe(202);
        return json.GetProperty("jobId").GetString()!;
    }

    private async Task<Answer> PostRawAsync(string path, string body, string contentType)
    {
        using var request = Host.Request(HttpMethod.Post, path);
        request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return await Host.SendAsync(request);
    }
}
