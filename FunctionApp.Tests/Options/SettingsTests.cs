using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Functions;
using ServerlessInference.Jobs;
using ServerlessInference.ModelHosting;
using ServerlessInference.Serving;
using ServerlessInference.Storage;
using ServerlessInference.Telemetry;
using Xunit;

namespace ServerlessInference.Tests.Options;

/// <summary>Settings bind from the env-var style keys infra sets and are validated at start-up (no storage needed).</summary>
public sealed class SettingsTests
{
    private static ServiceProvider Build(Dictionary<string, string?> values)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(configuration);
        services.AddServerlessInference();
        return services.BuildServiceProvider();
    }

    [Fact]
    public void DefaultsMatchTheDocumentedSettings()
    {
        using var provider = Build(new() { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true" });
        provider.GetRequiredService<IStartupValidator>().Validate();

        var models = provider.GetRequiredService<IOptions<ModelsOptions>>().Value;
        Assert.Equal("AzureWebJobsStorage", models.Connection);
        Assert.Equal("models", models.Container);
        Assert.Equal("marian-tiny-en-zh", models.DefaultModel);
        var entry = Assert.Single(models.Catalog);
        Assert.Equal(("marian-tiny-en-zh", "marian-tiny-en-zh/", null), (entry.Name, entry.Prefix, entry.TargetLanguage));
        Assert.Equal(Path.Combine(Path.GetTempPath(), "serverless-inference", "models"), models.CacheDirectory);
        Assert.Equal((2, 10), (models.MaxLoaded, models.RetryAfterSeconds));
        var limits = provider.GetRequiredService<IOptions<RequestLimitsOptions>>().Value;
        var engine = provider.GetRequiredService<IOptions<EngineOptions>>().Value;
        Assert.Equal((64, 20000, 8, 0, true),
            (limits.MaxTexts, limits.MaxCharacters, engine.MaxBeams, engine.IntraOpThreads, engine.SplitOutputProjection));
        Assert.Equal(32, engine.MaxBatchSize);
        Assert.Equal((3.0, 16, 4, 8),
            (engine.OutputLengthFactor, engine.OutputLengthFloor, engine.RepeatStopRepeats, engine.RepeatStopMinTokens));
        var serving = provider.GetRequiredService<IOptions<ServingOptions>>().Value;
        Assert.Equal((1, 2048), (serving.MaxConcurrentBatches, serving.MaxPendingSentences));
        var jobs = provider.GetRequiredService<IOptions<JobsOptions>>().Value;
        Assert.Equal(("jobs", 32, 20_000), (jobs.Container, jobs.ChunkSize, jobs.ChunkCharacters));
        Assert.Equal(16 * 1024 * 1024, provider.GetRequiredService<IOptions<HttpOptions>>().Value.MaxRequestBodyBytes);
        var storage = provider.GetRequiredService<IOptions<StorageClientOptions>>().Value;
        Assert.Equal((2, 20), (storage.MaxRetries, storage.NetworkTimeoutSeconds));
        var monitoring = provider.GetRequiredService<IOptions<MonitoringOptions>>().Value;
        Assert.Equal((false, 9464), (monitoring.PrometheusEnabled, monitoring.PrometheusPort));
    }

    [Fact]
    public void KestrelAcceptsBodiesPastTheAppsLimitSoTheAppCanDrainThemAndAnswer413()
    {
        using var provider = Build(new() { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true", ["Http:MaxRequestBodyBytes"] = "5000" });

        var kestrel = provider.GetRequiredService<IOptions<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>>().Value;

        Assert.Equal(HttpOptions.MaxDrainedBodyBytes, kestrel.Limits.MaxRequestBodySize);
        Assert.True(HttpOptions.MaxDrainedBodyBytes > HttpOptions.HostDefaultMaxBodyBytes);
    }

    [Fact]
    public void EngineSettingsBindFromTheirSectionAndReachTheTranslatorFactory()
    {
        using var provider = Build(new()
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["Engine:MaxBeams"] = "3",
            ["Engine:IntraOpThreads"] = "2",
            ["Engine:MaxBatchSize"] = "5",
            ["Engine:SplitOutputProjection"] = "false",
            ["Engine:OutputLengthFactor"] = "2",
            ["Engine:OutputLengthFloor"] = "8",
            ["Engine:RepeatStopRepeats"] = "0",
            ["Engine:RepeatStopMinTokens"] = "20",
        });
        provider.GetRequiredService<IStartupValidator>().Validate();

        var engine = provider.GetRequiredService<IOptions<EngineOptions>>().Value;
        Assert.Equal(new EngineOptions
        {
            MaxBeams = 3,
            IntraOpThreads = 2,
            MaxBatchSize = 5,
            SplitOutputProjection = false,
            OutputLengthFactor = 2,
            OutputLengthFloor = 8,
            RepeatStopRepeats = 0,
            RepeatStopMinTokens = 20,
        }, engine);
        using var translator = provider.GetRequiredService<IEngineFactory>().Load("tiny", RepoPaths.ShippedModel);
        Assert.Equal(3, translator.Limits.MaxBeams);
    }

    [Theory]
    [InlineData(0, 1, 2, 0)]
    [InlineData(0, 2, 2, 1)]
    [InlineData(0, 4, 2, 1)]
    [InlineData(0, 4, 16, 4)]
    [InlineData(3, 2, 2, 3)]
    public void ConcurrentEngineRunsShareTheCoresUnlessThreadsAreSet(int configured, int concurrent, int cores, int expected)
    {
        var serving = new ServingOptions { MaxConcurrentBatches = concurrent };
        Assert.Equal(expected, serving.IntraOpThreads(configured, cores));
    }

    [Fact]
    public void SampleLocalSettingsAreValid()
    {
        // That the sample and docs/settings.md list the same settings: SettingsDocumentationTests.
        var path = Path.Combine(RepoPaths.Root, "local.settings.sample.json");
        using var sample = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        var values = sample.RootElement.GetProperty("Values").EnumerateObject()
            .ToDictionary(p => p.Name.Replace("__", ":"), p => (string?)p.Value.GetString());
        using var provider = Build(values);
        provider.GetRequiredService<IStartupValidator>().Validate();
        Assert.Equal(ModelsOptions.DefaultCacheDirectory, provider.GetRequiredService<IOptions<ModelsOptions>>().Value.CacheDirectory);
        var serving = provider.GetRequiredService<IOptions<ServingOptions>>().Value;
        Assert.True(serving.Batching);
        var entry = Assert.Single(provider.GetRequiredService<IOptions<ModelsOptions>>().Value.Catalog);
        Assert.Equal(ModelDtype.Default, entry.Dtype);
    }

    [Fact]
    public void IdentityBasedConnectionIsAccepted()
    {
        using var provider = Build(new()
        {
            ["Storage:blobServiceUri"] = "https://acct.blob.core.windows.net",
            ["Storage:clientId"] = "00000000-0000-0000-0000-000000000001",
            ["Models:Connection"] = "Storage",
            ["AzureWebJobsStorage:accountName"] = "acct",
        });
        provider.GetRequiredService<IStartupValidator>().Validate();
    }

    [Theory]
    [InlineData("Models:DefaultModel", "not-in-catalog", "Models:DefaultModel")]
    [InlineData("Models:MaxLoaded", "0", "MaxLoaded")]
    [InlineData("Models:Container", "Bad_Name", "Models:Container")]
    [InlineData("Models:Connection", "NoSuchConnection", "NoSuchConnection")]
    [InlineData("Translation:MaxTexts", "0", "MaxTexts")]
    [InlineData("Engine:MaxBeams", "65", "MaxBeams")]
    [InlineData("Engine:IntraOpThreads", "-1", "IntraOpThreads")]
    [InlineData("Engine:MaxBatchSize", "0", "MaxBatchSize")]
    [InlineData("Translation:MaxBeams", "4", "Engine__MaxBeams")]
    [InlineData("Translation:IntraOpThreads", "1", "Engine__IntraOpThreads")]
    [InlineData("Translation:SplitOutputProjection", "false", "Engine__SplitOutputProjection")]
    [InlineData("Jobs:ChunkSize", "-1", "ChunkSize")]
    [InlineData("Serving:MaxConcurrentBatches", "0", "MaxConcurrentBatches")]
    [InlineData("Serving:MaxPendingSentences", "0", "MaxPendingSentences")]
    [InlineData("Jobs:ChunkCharacters", "0", "ChunkCharacters")]
    [InlineData("Models:Catalog:0:Prefix", "/abs", "Prefix")]
    [InlineData("Models:Catalog:0:TargetLanguage", ">>cmn_Hans<<", "Models:Catalog:0:TargetLanguage")]
    [InlineData("Models:Catalog:0:Dtype", "q5", "Dtype")]
    [InlineData("Http:MaxRequestBodyBytes", "104857601", "MaxRequestBodyBytes")]
    [InlineData("StorageClients:NetworkTimeoutSeconds", "0", "NetworkTimeoutSeconds")]
    [InlineData("Monitoring:PrometheusPort", "70000", "PrometheusPort")]
    [InlineData("Engine:OutputLengthFactor", "-1", "OutputLengthFactor")]
    [InlineData("Engine:OutputLengthFloor", "0", "OutputLengthFloor")]
    [InlineData("Engine:RepeatStopRepeats", "-1", "RepeatStopRepeats")]
    [InlineData("Engine:RepeatStopMinTokens", "0", "RepeatStopMinTokens")]
    public void InvalidSettingFailsStartupValidationNamingIt(string key, string value, string expected)
    {
        using var provider = Build(new() { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true", [key] = value });
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains(expected, error.Message);
    }
}
