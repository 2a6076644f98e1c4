using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc;
using ServerlessInference.Functions;
using ServerlessInference.TryPage;

namespace ServerlessInference.Tests.Functions;

/// <summary>The try page's files as the function serves them. The page's behaviour in a browser is tested end to end
/// (FunctionApp.E2ETests/Page).</summary>
public sealed partial class TryPageFunctionTests
{
    [Theory]
    [InlineData(null, "text/html; charset=utf-8", "<!doctype html>")]
    [InlineData("", "text/html; charset=utf-8", "<!doctype html>")]
    [InlineData("app.js", "text/javascript; charset=utf-8", "\"use strict\";")]
    [InlineData("style.css", "text/css; charset=utf-8", ":root {")]
    public async Task EachFileIsServedWithItsContentTypeAndTheHeadersThatLockThePageDown(string? file, string contentType,
        string contains)
    {
        var response = (await ServeAsync(file)).ShouldBe(200);

        Assert.Equal(contentType, response.ContentType);
        Assert.Contains(contains, response.Body, StringComparison.Ordinal);
        Assert.Equal("nosniff", response.Headers.XContentTypeOptions.ToString());
        Assert.Equal("no-referrer", response.Headers["Referrer-Policy"].ToString());
        var policy = response.Headers.ContentSecurityPolicy.ToString();
        Assert.Equal(TryPageAssets.ContentSecurityPolicy, policy);
        Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe", policy, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("index.html")]
    [InlineData("App.js")]
    [InlineData("app.js.map")]
    [InlineData("..")]
    [InlineData("TryPage.app.js")]
    public async Task AnyOtherFileIsA404Problem(string file)
    {
        var response = (await ServeAsync(file)).ShouldBe(404);

        Assert.Equal("application/problem+json; charset=utf-8", response.ContentType);
        Assert.Equal("The try page has no such file.", response.Json.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task ThePageHasNoInlineScriptStyleOrHandlersAndLoadsOnlyFilesTheRouteServes()
    {
        var html = (await ServeAsync(null)).ShouldBe(200).Body;

        var scripts = ScriptElement().Matches(html);
        Assert.NotEmpty(scripts);
        Assert.All(scripts, s => Assert.Matches("src=\"[^\"]+\"", s.Groups["attributes"].Value));
        Assert.All(scripts, s => Assert.Equal("", s.Groups["body"].Value.Trim()));
        Assert.DoesNotMatch("(?i)<style|\\sstyle=|\\son[a-z]+=|javascript:", html);

        var references = Reference().Matches(html).Select(m => m.Groups["path"].Value).ToList();
        Assert.Equal(["/api/try/style.css", "/api/try/app.js"], references);
        Assert.All(references, r => Assert.NotNull(TryPageAssets.Find(r["/api/try/".Length..])));
    }

    [Fact]
    public async Task TheScriptOnlyEverSetsTextNeverHtml()
    {
        var script = (await ServeAsync("app.js")).ShouldBe(200).Body;

        foreach (var sink in new[] { "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                     "setTimeout(\"", "createContextualFragment", "DOMParser" })
        {
            Assert.DoesNotContain(sink, script, StringComparison.Ordinal);
        }

        Assert.Contains(".textContent = ", script, StringComparison.Ordinal);
    }

    private static Task<TestResponse> ServeAsync(string? file) =>
        Http.ExecuteAsync(Task.Run<IActionResult>(() => new TryPageFunction().Run(Http.Request("GET"), file)));

    [GeneratedRegex("<script(?<attributes>[^>]*)>(?<body>.*?)</script>", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex ScriptElement();

    [GeneratedRegex("(?:src|href)=\"(?<path>[^\"]+)\"", RegexOptions.IgnoreCase)]
    private static partial Regex Reference();
}
