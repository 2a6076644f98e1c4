using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace ServerlessInference.E2ETests.Compat;

/// <summary>The app with the compatible APIs on (a key in CompatApi__Keys), under the real Functions host.</summary>
public sealed class CompatHostFixture : IAsyncLifetime
{
    public const string Key = "e2e-compat-key-0123456789";

    private AppInstance? _app;

    public FunctionsHost Host => (_app ?? throw new InvalidOperationException("No Functions host: " + FunctionsHostLocator.Reason)).Host;

    public async Task InitializeAsync()
    {
        if (FunctionsHostLocator.Launcher is not null)
        {
            _app = await AppInstance.StartAsync(new Dictionary<string, string> { ["CompatApi__Keys"] = "another-key-0123456789;" + Key });
        }
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class CompatHostCollection : ICollectionFixture<CompatHostFixture>
{
    public const string Name = "Functions host with the compatible APIs";
}

/// <summary>LibreTranslate's documented requests, through the host as its clients send them, and the official DeepL
/// client, deepl-node, pointed at /api/deepl. Neither sends the host's function key.</summary>
[Collection(CompatHostCollection.Name)]
public sealed class CompatApiTests(CompatHostFixture fixture)
{
    private FunctionsHost Host => fixture.Host;

    private async Task<Answer> PostAsync(string path, HttpContent content)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        return await Host.SendAsync(request);
    }

    [HostFact]
    public async Task LibreTranslateJsonAndFormRequestsAsItsDocsShowThemAreAnsweredWithoutAFunctionKey()
    {
        var json = await PostAsync("api/libretranslate/translate", new StringContent(
            $$"""{"q": "Hello!", "source": "en", "target": "zh", "format": "text", "api_key": "{{CompatHostFixture.Key}}"}""",
            Encoding.UTF8, "application/json"));
        var form = await PostAsync("api/libretranslate/translate", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["q"] = "Hello!",
            ["source"] = "auto",
            ["target"] = "zh",
            ["format"] = "text",
            ["api_key"] = CompatHostFixture.Key,
        }));
        var batch = await PostAsync("api/libretranslate/translate", new StringContent(
            $$"""{"q": ["Hello!", "Good night."], "source": "en", "target": "zh-Hans", "api_key": "{{CompatHostFixture.Key}}"}""",
            Encoding.UTF8, "application/json"));

        Assert.True(json.Status == 200, json.Text);
        Assert.StartsWith("application/json", json.ContentType);
        var text = json.Json.GetProperty("translatedText").GetString();
        Assert.False(string.IsNullOrWhiteSpace(text));
        Assert.True(form.Status == 200, form.Text);
        Assert.Equal(text, form.Json.GetProperty("translatedText").GetString());
        Assert.True(batch.Status == 200, batch.Text);
        Assert.Equal(text, batch.Json.GetProperty("translatedText")[0].GetString());
        Assert.Equal(2, batch.Json.GetProperty("translatedText").GetArrayLength());
    }

    [HostFact]
    public async Task LibreTranslateFormatHtmlKeepsTheMarkupOfAFragment()
    {
        var html = await PostAsync("api/libretranslate/translate", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["q"] = "<p>Good <em>morning</em>, <a href=\"https://example.com/a?b=1&amp;c=2\">my friend</a>.</p>",
            ["source"] = "en",
            ["target"] = "zh",
            ["format"] = "html",
            ["api_key"] = CompatHostFixture.Key,
        }));

        Assert.True(html.Status == 200, html.Text);
        var text = html.Json.GetProperty("translatedText").GetString()!;
        Assert.True(text.StartsWith("<p>", StringComparison.Ordinal) && text.EndsWith("</p>", StringComparison.Ordinal), text);
        Assert.Contains("<em>", text);
        Assert.Contains("<a href=\"https://example.com/a?b=1&amp;c=2\">", text); // attributes and entities kept
        Assert.Contains(text, c => c >= '\u4e00' && c <= '\u9fff');
    }

    [HostFact]
    public async Task LibreTranslateRefusesAWrongKeyAndAnUnsupportedTargetInItsOwnShape()
    {
        var wrong = await PostAsync("api/libretranslate/translate", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["q"] = "Hello!",
            ["source"] = "en",
            ["target"] = "zh",
            ["api_key"] = "not-the-key-0123456789",
        }));
        var unsupported = await PostAsync("api/libretranslate/translate", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["q"] = "Hello!",
            ["source"] = "en",
            ["target"] = "fr",
            ["api_key"] = CompatHostFixture.Key,
        }));
        var languages = await Host.SendAsync(HttpMethod.Get, "api/libretranslate/languages", withKey: false);

        Assert.Equal(403, wrong.Status);
        Assert.Equal("Invalid API key", wrong.Json.GetProperty("error").GetString());
        Assert.Equal(400, unsupported.Status);
        Assert.Equal("fr is not supported", unsupported.Json.GetProperty("error").GetString());
        Assert.Equal(200, languages.Status);
        Assert.Equal("en", languages.Json[0].GetProperty("code").GetString());
        Assert.Equal("zh-Hans", languages.Json[0].GetProperty("targets")[0].GetString());
    }

    [HostFact]
    public async Task TheOfficialDeepLClientTranslatesTextAndHtmlAndReadsUsageAndLanguages()
    {
        var output = await RunDeepLClientAsync($"http://127.0.0.1:{Host.Port}/api/deepl", CompatHostFixture.Key);
        var result = JsonDocument.Parse(output).RootElement;

        var one = result.GetProperty("one");
        Assert.False(string.IsNullOrWhiteSpace(one.GetProperty("text").GetString()));
        Assert.Equal("en", one.GetProperty("detectedSourceLang").GetString());
        Assert.Equal("Hello.".Length, one.GetProperty("billedCharacters").GetInt32());
        Assert.Equal(2, result.GetProperty("many").GetArrayLength());
        // tag_handling=html: the markup comes back whole around translated text.
        var html = result.GetProperty("html").GetString()!;
        Assert.True(html.StartsWith("<p>", StringComparison.Ordinal) && html.EndsWith("</p>", StringComparison.Ordinal), html);
        Assert.Contains("<b>", html);
        Assert.Contains("</b>", html);
        Assert.Contains(html, c => c >= '\u4e00' && c <= '\u9fff');
        var usage = result.GetProperty("usage");
        Assert.True(usage.GetProperty("count").GetInt64() >= "Hello.Thank you.Good night.".Length, output);
        Assert.False(usage.GetProperty("anyLimitReached").GetBoolean());
        Assert.Equal(["en"], result.GetProperty("sources").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(["zh", "zh-HANS"], result.GetProperty("targets").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("AuthorizationError", result.GetProperty("wrongKey").GetString());
    }

    [HostFact]
    public async Task DeepLFormRequestsWithRepeatedTextAreAnsweredInOrder()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/deepl/v2/translate")
        {
            Content = new StringContent("text=Hello.&text=Good%20night.&target_lang=ZH", Encoding.UTF8,
                "application/x-www-form-urlencoded"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("DeepL-Auth-Key", CompatHostFixture.Key);

        var answer = await Host.SendAsync(request);

        Assert.True(answer.Status == 200, answer.Text);
        var translations = answer.Json.GetProperty("translations");
        Assert.Equal(2, translations.GetArrayLength());
        Assert.Equal("EN", translations[0].GetProperty("detected_source_language").GetString());
    }

    private static async Task<string> RunDeepLClientAsync(string serverUrl, string key)
    {
        var start = new ProcessStartInfo("node", [Path.Combine(RepoPaths.Root, "FunctionApp.E2ETests", "Compat", "deepl-client.mjs")])
        {
            WorkingDirectory = RepoPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["DEEPL_SERVER_URL"] = serverUrl;
        start.Environment["DEEPL_KEY"] = key;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"deepl-client.mjs exited {process.ExitCode}: {await stderr}");
        return (await stdout).Trim();
    }
}
