using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Functions;
using ServerlessInference.Jobs;

namespace ServerlessInference.Tests.OpenApi;

/// <summary>FunctionApp/OpenApi/openapi.json against the app: every HTTP function is documented and nothing else
/// is, and every answer the functions give (success and each error status they can reach in-process) is declared for
/// its operation, with the declared content type, headers and body schema.</summary>
[Collection(StorageCollection.Name)]
public sealed class OpenApiContractTests(StorageFixture storage)
{
    private static OpenApiSpec Spec => OpenApiSpec.Committed;

    /// <summary>Statuses no function gives in-process: the host's 401 for a key, and 500 for a defect.</summary>
    private static readonly int[] NotReachableInProcess = [401, 500];

    [Fact]
    public void TheDocumentIsOpenApi31WithTheFunctionKeySchemes()
    {
        Assert.Equal("3.1.0", Spec.Root.GetProperty("openapi").GetString());
        var schemes = Spec.Root.GetProperty("components").GetProperty("securitySchemes");
        Assert.Contains(schemes.EnumerateObject(), s => Scheme(s.Value) == ("apiKey", "header", "x-functions-key"));
        Assert.Contains(schemes.EnumerateObject(), s => Scheme(s.Value) == ("apiKey", "query", "code"));
        Assert.Equal("/api", Spec.Root.GetProperty("servers")[0].GetProperty("url").GetString());
    }

    [Fact]
    public void EveryHttpFunctionIsAnOperationAndEveryOperationIsAnHttpFunction()
    {
        var functions = HttpFunctions().Select(f => f.Operation).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(functions, Spec.Operations.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void AnonymousFunctionsAndOnlyThoseAreDocumentedWithoutSecurity()
    {
        foreach (var (operation, level) in HttpFunctions())
        {
            var open = Spec.Operation(operation).TryGetProperty("security", out var security) && security.GetArrayLength() == 0;
            Assert.True(open == (level == AuthorizationLevel.Anonymous), $"{operation} is {level}; the document says security is "
                + (open ? "none" : "the function key"));
        }
    }

    [Fact]
    public async Task TheServedDocumentIsTheCommittedFile()
    {
        var response = await Http.ExecuteAsync(new OpenApiFunction().Run(Http.Request("GET")));

        response.ShouldBe(200);
        Assert.Equal("application/json; charset=utf-8", response.ContentType);
        Assert.Equal(File.ReadAllText(OpenApiSpec.CommittedPath), response.Body);
    }

    [Fact]
    public async Task EveryAnswerIsDeclaredWithItsContentTypeHeadersAndBodySchema()
    {
        const string key = "contract-test-key-0123456789";
        var jobs = new Dictionary<string, string?>
        {
            ["Jobs:Container"] = StorageFixture.UniqueContainer("jobs"),
            ["CompatApi:Keys"] = key,
        };
        using var app = new TestApp(storage, jobs);
        using var down = new TestApp(storage, new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = StorageFixture.UnreachableConnectionString(),
            ["CompatApi:Keys"] = key,
        });
        using var off = new TestApp(storage); // no CompatApi__Keys: the compatible APIs are off
        var answers = new List<(string Operation, string? Request, TestResponse Response)>();

        async Task<TestResponse> Call(string operation, string? body, Func<Microsoft.AspNetCore.Http.HttpRequest, Task<IActionResult>> run,
            string contentType = "application/json")
        {
            var response = await Http.ExecuteAsync(run(Http.Request("POST", body, contentType)));
            answers.Add((operation, body, response));
            return response;
        }

        Task<TestResponse> Translate(TestApp on, string body, string contentType = "application/json") =>
            Call("post /translate", body, r => on.Function<TranslateFunction>().Run(r, CancellationToken.None), contentType);
        Task<TestResponse> Submit(TestApp on, string body, string contentType = "application/json") =>
            Call("post /jobs", body, r => on.Function<JobFunctions>().Submit(r, CancellationToken.None), contentType);
        Task<TestResponse> GetJob(TestApp on, string jobId) =>
            Call("get /jobs/{jobId}", null, r => on.Function<JobFunctions>().Get(r, jobId, CancellationToken.None));
        Task<TestResponse> Health(TestApp on) =>
            Call("get /health", null, r => Task.FromResult(on.Function<HealthFunction>().Run(r)));
        Task<TestResponse> Ready(TestApp on) =>
            Call("get /ready", null, r => Task.FromResult(on.Function<ReadyFunction>().Run(r)));
        Task<TestResponse> TryPage(string? file) =>
            Call(file is null ? "get /try" : "get /try/{file}", null, r => Task.Run(() => new TryPageFunction().Run(r, file)));

        (await Health(app)).ShouldBe(200); // nothing loaded yet
        (await Ready(app)).ShouldBe(503); // and this probe starts the default model's load
        (await Translate(app, """{"text": "Hello."}""")).ShouldBe(200);
        (await Translate(app, """{"texts": ["Good morning.", "I like tea."], "model": null, "beams": 2, "maxNewTokens": 32}"""))
            .ShouldBe(200);
        (await Health(app)).ShouldBe(200); // the model loaded, with its speed measured
        (await Ready(app)).ShouldBe(200);
        (await Translate(app, """{"texts": ["<p>I like <b>tea</b>.</p>"], "format": "html"}""")).ShouldBe(200);
        (await TryPage(null)).ShouldBe(200);
        (await TryPage("app.js")).ShouldBe(200);
        (await TryPage("style.css")).ShouldBe(200);
        (await TryPage("secrets.txt")).ShouldBe(404);
        (await Translate(app, """{"text": "Hello.", "beam": 2}""")).ShouldBe(400);
        (await Translate(app, """{"text": "Hello.", "model": "fr-de"}""")).ShouldBe(404);
        (await Translate(app, JsonSerializer.Serialize(new { texts = Enumerable.Repeat("Hi.", 65) }))).ShouldBe(413);
        (await Translate(app, """{"text": "Hello."}""", "text/plain")).ShouldBe(415);
        (await Translate(down, """{"text": "Hello."}""")).ShouldBe(503);
        (await Health(down)).ShouldBe(200); // the failed load, with its reason and retry time

        var submitted = await Submit(app, """{"texts": ["Hello.", "Good night."], "beams": 1}""");
        submitted.ShouldBe(202);
        (await Submit(app, """{"texts": ["Hello."], "inputBlob": "inputs/a.jsonl"}""")).ShouldBe(400);
        (await Submit(app, """{"texts": ["Hello."], "model": "fr-de"}""")).ShouldBe(404);
        (await Submit(app, JsonSerializer.Serialize(new { texts = new[] { new string('a', 20_001) } }))).ShouldBe(413);
        (await Submit(app, """{"texts": ["Hello."]}""", "text/plain")).ShouldBe(415);
        (await Submit(down, """{"texts": ["Hello."]}""")).ShouldBe(503);

        (await GetJob(app, submitted.Json.GetProperty("jobId").GetString()!)).ShouldBe(200);
        (await GetJob(app, "not-a-job")).ShouldBe(400);
        (await GetJob(app, JobBlobNames.NewJobId())).ShouldBe(404);
        (await GetJob(down, JobBlobNames.NewJobId())).ShouldBe(503);

        async Task<TestResponse> Compat(string operation, string? body,
            Func<Microsoft.AspNetCore.Http.HttpRequest, Task<IActionResult>> run, string contentType = "application/json",
            string? deeplKey = key, string? query = null)
        {
            var request = Http.Request(body is null ? "GET" : "POST", body, body is null ? null : contentType);
            if (deeplKey is not null)
            {
                request.Headers.Authorization = "DeepL-Auth-Key " + deeplKey;
            }

            if (query is not null)
            {
                request.QueryString = new Microsoft.AspNetCore.Http.QueryString(query);
            }

            var response = await Http.ExecuteAsync(run(request));
            answers.Add((operation, contentType == "application/json" ? body : null, response));
            return response;
        }

        Task<TestResponse> Libre(TestApp on, string body, string contentType = "application/json") =>
            Compat("post /libretranslate/translate", body, r => on.Function<LibreTranslateFunctions>().Translate(r, CancellationToken.None),
                contentType, deeplKey: null);
        Task<TestResponse> LibreLanguages(TestApp on) => Compat("get /libretranslate/languages", null,
            r => on.Function<LibreTranslateFunctions>().Languages(r, CancellationToken.None), deeplKey: null);
        Task<TestResponse> DeepL(TestApp on, string body, string contentType = "application/json", string? deeplKey = key) =>
            Compat("post /deepl/v2/translate", body, r => on.Function<DeepLFunctions>().Translate(r, CancellationToken.None),
                contentType, deeplKey);
        Task<TestResponse> DeepLLanguages(TestApp on, string? query = null, string? deeplKey = key) => Compat("get /deepl/v2/languages",
            null, r => on.Function<DeepLFunctions>().Languages(r, CancellationToken.None), deeplKey: deeplKey, query: query);
        Task<TestResponse> DeepLUsage(TestApp on, string? deeplKey = key) => Compat("get /deepl/v2/usage", null,
            r => on.Function<DeepLFunctions>().Usage(r, CancellationToken.None), deeplKey: deeplKey);

        var libre = $$"""{"api_key": "{{key}}", "q": ["Hello.", "<p>I like <b>tea</b>.</p>"], "source": "en", "target": "zh"}""";
        (await Libre(app, libre)).ShouldBe(200);
        (await Libre(app, $$"""{"api_key": "{{key}}", "q": "Hello.", "source": "auto", "target": "zh", "format": "html"}""")).ShouldBe(200);
        (await Libre(app, $$"""{"api_key": "{{key}}", "source": "en", "target": "zh"}""")).ShouldBe(400);
        (await Libre(app, """{"api_key": "wrong-key-0123456789", "q": "Hello.", "source": "en", "target": "zh"}""")).ShouldBe(403);
        (await Libre(off, libre)).ShouldBe(404);
        (await Libre(down, libre)).ShouldBe(503);
        (await LibreLanguages(app)).ShouldBe(200);
        (await LibreLanguages(off)).ShouldBe(404);
        (await DeepL(app, """{"text": ["Hello.", "Good night."], "target_lang": "ZH"}""")).ShouldBe(200);
        (await DeepL(app, """{"text": ["Hello."], "target_lang": "FR"}""")).ShouldBe(400);
        (await DeepL(app, """{"text": ["Hello."], "target_lang": "ZH"}""", deeplKey: "wrong-key-0123456789")).ShouldBe(403);
        (await DeepL(off, """{"text": ["Hello."], "target_lang": "ZH"}""")).ShouldBe(404);
        (await DeepL(app, JsonSerializer.Serialize(new { text = Enumerable.Repeat("Hi.", 65), target_lang = "ZH" }))).ShouldBe(413);
        (await DeepL(app, "Hello.", "text/plain")).ShouldBe(415);
        (await DeepL(down, """{"text": ["Hello."], "target_lang": "ZH"}""")).ShouldBe(503);
        (await DeepLLanguages(app, "?type=target")).ShouldBe(200);
        (await DeepLLanguages(app, "?type=sideways")).ShouldBe(400);
        (await DeepLLanguages(app, deeplKey: null)).ShouldBe(403);
        (await DeepLLanguages(off)).ShouldBe(404);
        (await DeepLUsage(app)).ShouldBe(200);
        (await DeepLUsage(app, deeplKey: "wrong-key-0123456789")).ShouldBe(403);
        (await DeepLUsage(off)).ShouldBe(404);
        // Shedding: with the backlog full, both compatible APIs answer 429 with Retry-After, as DeepL's clients expect.
        var backlog = app.Get<ServingBacklog>();
        backlog.Admit(backlog.MaxPendingSentences, WorkPriority.Interactive);
        (await Libre(app, libre)).ShouldBe(429);
        (await DeepL(app, """{"text": ["Hello."], "target_lang": "ZH"}""")).ShouldBe(429);
        backlog.Withdrawn(backlog.MaxPendingSentences);

        var document = await Http.ExecuteAsync(new OpenApiFunction().Run(Http.Request("GET")));
        answers.Add(("get /openapi.json", null, document));

        var failures = answers.SelectMany(a => Check(a.Operation, a.Request, a.Response)).ToList();
        Assert.True(failures.Count == 0, string.Join('\n', failures));
        // Each declared status is exercised here, so a status added to the document needs a case above.
        var declared = Spec.Operations.SelectMany(o => Spec.Statuses(o).Except(NotReachableInProcess).Select(s => $"{o} {s}"));
        var produced = answers.Select(a => $"{a.Operation} {a.Response.Status}").Distinct();
        Assert.Equal(declared.Order(StringComparer.Ordinal), produced.Order(StringComparer.Ordinal));
    }

    /// <summary>What the document says about one answer and what the function did, as failures.</summary>
    private static IEnumerable<string> Check(string operation, string? request, TestResponse response)
    {
        var (method, path) = OpenApiSpec.Split(operation);
        var status = response.Status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var declared = Spec.Response(operation, response.Status);
        if (declared is not var (answer, at))
        {
            yield return $"{operation} answered {status}, which the document does not declare: {response.Body}";
            yield break;
        }

        var mediaType = response.ContentType?.Split(';')[0].Trim();
        if (!answer.TryGetProperty("content", out var content) || mediaType is null || !content.TryGetProperty(mediaType, out _))
        {
            yield return $"{operation} {status}: content type {response.ContentType} is not declared";
            yield break;
        }

        // Only JSON bodies have a schema to hold them to; the try page's files are declared as strings.
        var errors = mediaType.EndsWith("json", StringComparison.Ordinal)
            ? Spec.Validate(response.Json, [.. at, "content", mediaType, "schema"])
            : [];
        foreach (var error in errors.Select(e => $"{operation} {status}: {e}\n  body: {response.Body}"))
        {
            yield return error;
        }

        foreach (var header in answer.TryGetProperty("headers", out var headers) ? headers.EnumerateObject() : [])
        {
            if (Spec.Resolve([.. at, "headers", header.Name]).Element.TryGetProperty("required", out var required) && required.GetBoolean()
                && !response.Headers.ContainsKey(header.Name))
            {
                yield return $"{operation} {status}: required header {header.Name} is missing";
            }
        }

        // What the app accepted, the document must accept too.
        if (request is not null && response.Status < 300)
        {
            using var body = JsonDocument.Parse(request);
            string[] schema = ["paths", path, method, "requestBody", "content", "application/json", "schema"];
            foreach (var error in Spec.Validate(body.RootElement, schema))
            {
                yield return $"{operation}: the request the app accepted is invalid by the document: {error}";
            }
        }
    }

    private static (string?, string?, string?) Scheme(JsonElement scheme) =>
        (scheme.GetProperty("type").GetString(), scheme.GetProperty("in").GetString(), scheme.GetProperty("name").GetString());

    /// <summary>Every [Function] of the app with an HTTP trigger, as "method /route" and its key level.</summary>
    private static IEnumerable<(string Operation, AuthorizationLevel Level)> HttpFunctions() =>
        typeof(TranslateFunction).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => m.GetCustomAttribute<FunctionAttribute>() is not null)
            .SelectMany(m => m.GetParameters().Select(p => p.GetCustomAttribute<HttpTriggerAttribute>()).OfType<HttpTriggerAttribute>())
            .SelectMany(trigger => (trigger.Methods ?? [])
                .SelectMany(method => Routes(trigger.Route!)
                    .Select(route => ($"{method.ToLowerInvariant()} /{route}", trigger.AuthLevel))));

    /// <summary>A route as OpenAPI paths: an optional last segment ("try/{file?}") is two paths, without and with
    /// it, since an OpenAPI path parameter is always required.</summary>
    private static IEnumerable<string> Routes(string route)
    {
        if (!route.EndsWith("?}", StringComparison.Ordinal))
        {
            return [route];
        }

        var slash = route.LastIndexOf('/');
        return [route[..slash], route[..^2] + "}"];
    }
}
