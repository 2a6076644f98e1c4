using System.Text.Json;
using Xunit.Abstractions;

namespace ServerlessInference.E2ETests.Page;

/// <summary>The try page (GET /api/try) in a headless Chromium against the app under the Functions host: a user's
/// clicks and keystrokes in, what the page shows out. The host checks function keys, as in Azure.</summary>
[Collection(HostCollection.Name)]
public sealed class TryPageTests(HostFixture fixture, ITestOutputHelper output)
{
    private const string KeyStorage = "serverless-inference.function-key";

    /// <summary>Bounds a translation, which may include the model's first load on a cold instance.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(180);

    private FunctionsHost Host => fixture.Host;

    [HostFact]
    public async Task TypedTextIsTranslatedOnceTheFunctionKeyIsGivenAndTheKeyIsKeptForTheTab()
    {
        await using var browser = await Chromium.StartAsync();
        await using var page = await OpenAsync(browser);

        await TypeAsync(page, "text", "I like tea.");
        await ClickAsync(page, "translate");
        var refused = await ShownErrorAsync(page);
        Assert.Contains("401", refused, StringComparison.Ordinal);
        Assert.Contains("needs a function key", refused, StringComparison.Ordinal);

        await TypeAsync(page, "key", Host.FunctionKey);
        await SelectAsync(page, "model", AppInstance.ModelName);
        await SelectAsync(page, "beams", "2");
        await ClickAsync(page, "translate");
        var translation = (await page.WaitForAsync("document.getElementById('result').textContent", Timeout)).GetString()!;

        Assert.Matches(@"\p{IsCJKUnifiedIdeographs}", translation);
        Assert.Equal(0, (await page.EvaluateAsync("document.getElementById('result').childElementCount")).GetInt32());
        Assert.True((await page.EvaluateAsync("document.getElementById('error').hidden")).GetBoolean());
        Assert.Contains(AppInstance.ModelName, await TextAsync(page, "meta"), StringComparison.Ordinal);
        Assert.Equal(Host.FunctionKey, (await page.EvaluateAsync($"sessionStorage.getItem('{KeyStorage}')")).GetString());
        var sent = TranslateRequests(page).Last();
        Assert.Equal(Host.FunctionKey, sent.GetProperty("headers").GetProperty("x-functions-key").GetString());
        using (var body = JsonDocument.Parse(sent.GetProperty("postData").GetString()!))
        {
            Assert.Equal("I like tea.", body.RootElement.GetProperty("text").GetString());
            Assert.Equal(AppInstance.ModelName, body.RootElement.GetProperty("model").GetString());
            Assert.Equal(2, body.RootElement.GetProperty("beams").GetInt32());
            Assert.False(body.RootElement.TryGetProperty("format", out _));
        }

        await SaveScreenshotAsync(page);
        AssertNoScriptOrPolicyErrors(page);
    }

    [HostFact]
    public async Task ProblemDetailsAndA503sRetryAfterAreShownAsText()
    {
        await using var browser = await Chromium.StartAsync();
        await using var page = await OpenAsync(browser);
        await TypeAsync(page, "key", Host.FunctionKey);

        await TypeAsync(page, "text", new string('a', 20_001));
        await ClickAsync(page, "translate");
        Assert.Equal("413 Payload Too Large: 20001 characters exceed the limit of 20000 per request.", await ShownErrorAsync(page));

        await TypeAsync(page, "text", "Hello.");
        await SelectAsync(page, "model", HostFixture.BrokenModel);
        await ClickAsync(page, "translate");
        var unavailable = await ShownErrorAsync(page);
        Assert.Matches(@"^503 Service Unavailable: Busy, retry in \d+ s\. ", unavailable);
        Assert.Contains(HostFixture.BrokenModel, unavailable, StringComparison.Ordinal);
        Assert.Equal("", await TextAsync(page, "result"));

        // Markup typed as text stays text wherever it comes back: in a translation or in a problem detail.
        await TypeAsync(page, "text", "<img src=x id=injected> I like <b>tea</b>.");
        await SelectAsync(page, "model", AppInstance.ModelName);
        await ClickAsync(page, "html");
        await ClickAsync(page, "translate");
        await page.WaitForAsync(
            "document.getElementById('result').textContent || document.getElementById('error').textContent", Timeout);
        Assert.Equal(0, (await page.EvaluateAsync(
            "document.querySelectorAll('#result *, #error *, #injected').length")).GetInt32());
        using (var body = JsonDocument.Parse(TranslateRequests(page).Last().GetProperty("postData").GetString()!))
        {
            Assert.Equal("html", body.RootElement.GetProperty("format").GetString());
        }

        AssertNoScriptOrPolicyErrors(page);
    }

    /// <summary>The page, loaded, with its model list filled from /api/health.</summary>
    private async Task<DevToolsPage> OpenAsync(Chromium browser)
    {
        var page = await browser.OpenPageAsync();
        try
        {
            foreach (var domain in new[] { "Page.enable", "Runtime.enable", "Log.enable", "Network.enable" })
            {
                await page.SendAsync(domain);
            }

            await page.SendAsync("Emulation.setDeviceMetricsOverride",
                new { width = 960, height = 660, deviceScaleFactor = 1, mobile = false });
            var loaded = page.NextEvent("Page.loadEventFired");
            await page.SendAsync("Page.navigate", new { url = new Uri(Host.Client.BaseAddress!, "api/try").ToString() });
            await loaded.WaitAsync(Timeout);
            await page.WaitForAsync(
                $"[...document.getElementById('model').options].some(o => o.value === '{AppInstance.ModelName}')", Timeout);
            return page;
        }
        catch
        {
            await page.DisposeAsync();
            throw;
        }
    }

    /// <summary>Keystrokes into an emptied field, as a user's typing arrives (input events included).</summary>
    private static async Task TypeAsync(DevToolsPage page, string id, string text)
    {
        await page.EvaluateAsync($"(() => {{ const e = document.getElementById('{id}'); e.value = ''; e.focus(); }})()");
        await page.SendAsync("Input.insertText", new { text });
    }

    /// <summary>A mouse click at the element's centre, so it must be visible and on top.</summary>
    private static async Task ClickAsync(DevToolsPage page, string id)
    {
        var centre = await page.EvaluateAsync(
            $"(() => {{ const r = document.getElementById('{id}').getBoundingClientRect(); " +
            "return { x: r.x + r.width / 2, y: r.y + r.height / 2 }; })()");
        var (x, y) = (centre.GetProperty("x").GetDouble(), centre.GetProperty("y").GetDouble());
        foreach (var type in new[] { "mousePressed", "mouseReleased" })
        {
            await page.SendAsync("Input.dispatchMouseEvent", new { type, x, y, button = "left", clickCount = 1 });
        }
    }

    private static async Task SelectAsync(DevToolsPage page, string id, string value)
    {
        var chosen = await page.EvaluateAsync(
            $"(() => {{ const s = document.getElementById('{id}'); s.value = {JsonSerializer.Serialize(value)}; " +
            "s.dispatchEvent(new Event('change', { bubbles: true })); return s.value; })()");
        Assert.Equal(value, chosen.GetString());
    }

    private static async Task<string> TextAsync(DevToolsPage page, string id) =>
        (await page.EvaluateAsync($"document.getElementById('{id}').textContent")).GetString()!;

    private static async Task<string> ShownErrorAsync(DevToolsPage page) =>
        (await page.WaitForAsync(
            "!document.getElementById('error').hidden && document.getElementById('error').textContent", Timeout)).GetString()!;

    private static List<JsonElement> TranslateRequests(DevToolsPage page) =>
        page.Events("Network.requestWillBeSent").Select(e => e.GetProperty("request"))
            .Where(r => r.GetProperty("method").GetString() == "POST" && r.GetProperty("url").GetString()!.EndsWith("/api/translate",
                StringComparison.Ordinal))
            .ToList();

    /// <summary>Nothing the page runs threw, and the policy blocked nothing it loads (a blocked script or style sheet
    /// would show up as a security message). Failed calls' console errors (source "network") are expected.</summary>
    private static void AssertNoScriptOrPolicyErrors(DevToolsPage page)
    {
        Assert.Empty(page.Events("Runtime.exceptionThrown").Select(e => e.ToString()));
        Assert.Empty(page.Events("Log.entryAdded").Select(e => e.GetProperty("entry"))
            .Where(e => e.GetProperty("source").GetString() == "security"
                        || (e.GetProperty("level").GetString() == "error" && e.GetProperty("source").GetString() != "network"))
            .Select(e => e.ToString()));
    }

    /// <summary>The page as the README shows it (docs/images/try-page.png is a copy of one), left in the test output
    /// folder.</summary>
    private async Task SaveScreenshotAsync(DevToolsPage page)
    {
        var shot = await page.SendAsync("Page.captureScreenshot", new { format = "png" });
        var png = Convert.FromBase64String(shot.GetProperty("data").GetString()!);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        var path = Path.Combine(AppContext.BaseDirectory, "try-page.png");
        await File.WriteAllBytesAsync(path, png);
        output.WriteLine($"screenshot: {path} ({png.Length} bytes)");
    }
}
