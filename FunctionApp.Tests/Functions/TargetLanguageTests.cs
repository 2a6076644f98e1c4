using System.Text.Json;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Functions;
using ServerlessInference.Jobs;
using ServerlessInference.ModelHosting;
using ServerlessInference.Serving;
using Xunit;

namespace ServerlessInference.Tests.Functions;

/// <summary>The targetLanguage field and the catalog's default, over HTTP and through jobs, with the micro model
/// whose vocab holds target-language tokens (Fixtures/marian-micro-languages) beside the shipped single-target one.</summary>
[Collection(StorageCollection.Name)]
public sealed class TargetLanguageTests(StorageFixture storage) : IAsyncLifetime
{
    private const string Multi = "multi";
    private const string Supported = "cmn, cmn_Hans, cmn_Hant, lzh, yue_Hans, yue_Hant";
    private readonly string _jobsContainer = StorageFixture.UniqueContainer("jobs");

    private QueueClient Queue =>
        new(storage.ConnectionString, JobsOptions.Queue, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });

    public async Task InitializeAsync()
    {
        await ModelUploader.UploadDirectoryAsync(storage.Blobs.GetBlobContainerClient(StorageFixture.ModelsContainer),
            Path.Combine(RepoPaths.Fixtures, "marian-micro-languages"), "marian-micro-languages/");
        await Queue.CreateIfNotExistsAsync();
        await Queue.ClearMessagesAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private TestApp NewApp(string? defaultLanguage = null) => new(storage, new Dictionary<string, string?>
    {
        ["Jobs:Container"] = _jobsContainer,
        ["Models:Catalog:0:Name"] = RepoPaths.ShippedModelName,
        ["Models:Catalog:0:Prefix"] = RepoPaths.ShippedModelName + "/",
        ["Models:Catalog:1:Name"] = Multi,
        ["Models:Catalog:1:Prefix"] = "marian-micro-languages/",
        ["Models:Catalog:1:TargetLanguage"] = defaultLanguage,
    });

    private static string Detail(TestResponse response) => response.Json.GetProperty("detail").GetString()!;

    private static Task<TestResponse> Translate(TestApp app, object body) =>
        Http.ExecuteAsync(app.Function<TranslateFunction>().Run(Http.Json(body), CancellationToken.None));

    [Fact]
    public async Task TargetLanguageTokenLeadsTheInputAsALeadingCodeInTheTextDoes()
    {
        using var app = NewApp();
        const string text = "The weather is nice today.";

        var plain = await Translate(app, new { text, model = Multi, beams = 1 });
        var field = await Translate(app, new { text, model = Multi, beams = 1, targetLanguage = "cmn_Hant" });
        var inText = await Translate(app, new { text = ">>cmn_Hant<< " + text, model = Multi, beams = 1 });

        field.ShouldBe(200);
        var tokens = (TestResponse r) => r.Json.GetProperty("translations")[0].GetProperty("inputTokens").GetInt32();
        Assert.Equal(tokens(plain) + 1, tokens(field));
        Assert.Equal(inText.Json.GetProperty("translations").GetRawText(), field.Json.GetProperty("translations").GetRawText());
    }

    [Fact]
    public async Task UnsupportedCodeIs400ListingTheSupportedOnes()
    {
        using var app = NewApp();

        var response = await Translate(app, new { text = "Hello.", model = Multi, targetLanguage = "deu" });

        response.ShouldBe(400);
        Assert.StartsWith("application/problem+json", response.ContentType);
        Assert.Contains("'deu'", Detail(response));
        Assert.Contains(Supported, Detail(response));
    }

    [Fact]
    public async Task ModelWithoutLanguageTokensRejectsTheField()
    {
        using var app = NewApp();

        var response = await Translate(app, new { text = "Hello.", targetLanguage = "cmn_Hans" });

        response.ShouldBe(400);
        Assert.Contains("single target language", Detail(response));
    }

    [Theory]
    [InlineData("{\"text\": \"a\", \"targetLanguage\": \">>cmn_Hans<<\"}")]
    [InlineData("{\"text\": \"a\", \"targetLanguage\": \"\"}")]
    [InlineData("{\"text\": \"a\", \"targetLanguage\": \"cmn Hans\"}")]
    [InlineData("{\"text\": \"a\", \"targetLanguage\": 5}")]
    [InlineData("{\"text\": \"a\", \"targetLanguage\": [\"cmn_Hans\"]}")]
    public async Task MalformedCodeIs400BeforeAnyModelLoads(string body)
    {
        using var app = NewApp();

        var response = await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(Http.Request("POST", body), CancellationToken.None));

        response.ShouldBe(400);
        Assert.Contains("targetLanguage", Detail(response));
        Assert.Equal(0, app.Factory.Loads);
    }

    [Fact]
    public async Task CatalogDefaultAppliesWhenTheRequestNamesNoneAndTheRequestOverridesIt()
    {
        using var app = NewApp(defaultLanguage: "cmn_Hans");
        const string text = "I like tea.";

        var byDefault = await Translate(app, new { text, model = Multi, beams = 1 });
        var explicitSame = await Translate(app, new { text, model = Multi, beams = 1, targetLanguage = "cmn_Hans" });
        var lzhRequest = new TranslationRequest([text]) { Beams = 1, TargetLanguage = "lzh" };
        var other = await app.Get<TranslationService>().TranslateAsync(Multi, lzhRequest, "test", WorkPriority.Interactive,
            CancellationToken.None);
        using var translator = Translator.Load(Multi, Path.Combine(RepoPaths.Fixtures, "marian-micro-languages"));
        var lzh = await translator.TranslateAsync(new TranslationRequest([">>lzh<< " + text]) { Beams = 1 });

        Assert.Equal(explicitSame.Json.GetProperty("translations").GetRawText(), byDefault.Json.GetProperty("translations").GetRawText());
        Assert.Equal(lzh.Translations[0].OutputIds, other.Result.Translations[0].OutputIds);
    }

    [Fact]
    public async Task CatalogDefaultTheModelLacksFailsTheLoadNamingTheCodeAndTheModelsCodes()
    {
        using var app = NewApp(defaultLanguage: "deu");

        var response = await Translate(app, new { text = "Hello.", model = Multi });

        // The load itself fails (once, for every caller), with the setting and what would be valid; health shows it.
        response.ShouldBe(503);
        Assert.Contains("TargetLanguage 'deu'", Detail(response));
        Assert.Contains(Supported, Detail(response));
        var status = app.Services.GetRequiredService<ModelHost>().GetStatuses().Single(s => s.Name == Multi);
        Assert.Equal(ModelState.Failed, status.State);
        Assert.Contains("TargetLanguage 'deu'", status.Reason);
        Assert.Contains(Supported, status.Reason);
        // Another caller inside the back-off gets the remembered reason without a second load.
        var loads = app.Factory.Loads;
        Assert.Contains("TargetLanguage 'deu'", Detail((await Translate(app, new { text = "Hi.", model = Multi })).ShouldBe(503)));
        Assert.Equal(loads, app.Factory.Loads);
    }

    [Fact]
    public async Task DeclaredLanguageTokenTheModelLacksFailsTheLoad()
    {
        using var app = new TestApp(storage, new Dictionary<string, string?>
        {
            ["Jobs:Container"] = _jobsContainer,
            ["Models:Catalog:0:Name"] = Multi,
            ["Models:Catalog:0:Prefix"] = "marian-micro-languages/",
            ["Models:Catalog:0:Languages"] = "en>zh-Hans=cmn_Hans,de=deu_Latn",
            ["Models:DefaultModel"] = Multi,
        });

        var response = await Translate(app, new { text = "Hello.", model = Multi });

        response.ShouldBe(503);
        Assert.Contains("'deu_Latn'", Detail(response));
        Assert.Contains(Supported, Detail(response));
    }

    [Fact]
    public async Task HealthListsALoadedModelsLanguagesAndTheCatalogDefault()
    {
        using var app = NewApp(defaultLanguage: "cmn_Hans");
        (await Translate(app, new { text = "Hello.", model = Multi })).ShouldBe(200);
        (await Translate(app, new { text = "Hello." })).ShouldBe(200);

        var health = await Http.ExecuteAsync(app.Function<HealthFunction>().Run(Http.Request("GET")));

        var models = health.Json.GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!);
        Assert.Equal(Supported.Split(", "), models[Multi].GetProperty("targetLanguages").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal("cmn_Hans", models[Multi].GetProperty("defaultTargetLanguage").GetString());
        Assert.Empty(models[RepoPaths.ShippedModelName].GetProperty("targetLanguages").EnumerateArray());
    }

    [Fact]
    public async Task JobCarriesTheTargetLanguageToEveryChunk()
    {
        using var app = NewApp();
        var functions = app.Function<JobFunctions>();
        string[] texts = ["Hello.", "I like tea.", "Where is the station?"];

        var submitted = await Http.ExecuteAsync(functions.Submit(
            Http.Json(new { texts, model = Multi, beams = 1, targetLanguage = "cmn_Hant" }), CancellationToken.None));
        submitted.ShouldBe(202);
        var jobId = submitted.Json.GetProperty("jobId").GetString()!;
        var message = Assert.Single((await Queue.ReceiveMessagesAsync(32)).Value);
        Assert.True(ChunkMessage.TryParse(message.Body.ToString(), out var parsed, out _));
        Assert.Equal("cmn_Hant", parsed.TargetLanguage);
        await functions.ProcessChunk(message, CancellationToken.None);

        var blob = storage.Blobs.GetBlobContainerClient(_jobsContainer).GetBlobClient($"{jobId}/result.jsonl");
        var result = (await blob.DownloadContentAsync()).Value.Content.ToString()
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        var request = new TranslationRequest(texts) { Beams = 1, TargetLanguage = "cmn_Hant" };
        var direct = await app.Get<TranslationService>().TranslateAsync(Multi, request, "test", WorkPriority.Interactive,
            CancellationToken.None);
        Assert.Equal(direct.Result.Translations.Select(t => t.Text), result.Select(r => r.GetProperty("text").GetString()));
        Assert.Equal(direct.Result.Translations.Select(t => t.InputTokens), result.Select(r => r.GetProperty("inputTokens").GetInt32()));
    }

    [Fact]
    public async Task JobWithAnUnsupportedCodeIsRejectedAtSubmit()
    {
        using var app = NewApp();

        var response = await Http.ExecuteAsync(app.Function<JobFunctions>().Submit(
            Http.Json(new { texts = new[] { "Hello." }, model = Multi, targetLanguage = "deu" }), CancellationToken.None));

        response.ShouldBe(400);
        Assert.Contains(Supported, Detail(response));
        Assert.Equal(0, (await Queue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }

    [Fact]
    public void ChunkMessageWithAMalformedCodeIsRejected()
    {
        var message = new ChunkMessage { JobId = JobBlobNames.NewJobId(), Chunk = 0, ChunkCount = 1, TargetLanguage = ">>x<<" };

        Assert.False(ChunkMessage.TryParse(message.ToJson(), out _, out var reason));
        Assert.Contains("targetLanguage", reason);
    }
}
