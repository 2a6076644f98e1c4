using Azure.Storage.Blobs.Models;
using ServerlessInference.Engine;
using ServerlessInference.Functions;
using ServerlessInference.ModelHosting;
using ServerlessInference.Telemetry;
using Xunit;

namespace ServerlessInference.Tests.ModelHosting;

[Collection(StorageCollection.Name)]
public sealed class ModelProvisioningTests(StorageFixture storage)
{
    private const string Sentence = "How are you?";

    [Fact]
    public async Task FiftyConcurrentColdCallsShareOneDownloadAndOneLoad()
    {
        using var app = new TestApp(storage);
        var function = app.Function<TranslateFunction>();

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            Task.Run(() => Http.ExecuteAsync(function.Run(Http.Json(new { text = $"{Sentence} {i}" }), CancellationToken.None)))));

        Assert.All(responses, r => r.ShouldBe(200));
        Assert.Equal(1, app.FlushTelemetry().Count(InferenceTelemetry.Instruments.ModelDownloadSize));
        Assert.Equal(1, app.Factory.Loads);
    }

    [Fact]
    public async Task StrayBlobsUnderTheModelPrefixAreNeitherDownloadedNorLoaded()
    {
        var container = StorageFixture.UniqueContainer("stray");
        var models = storage.Blobs.GetBlobContainerClient(container);
        await ModelUploader.UploadDirectoryAsync(models, RepoPaths.ShippedModel, RepoPaths.ShippedModelName + "/");
        // What an attacker or a careless upload could leave there: a job status, another graph, a large file.
        foreach (var (name, bytes) in new[] { ("status.json", 64), ("onnx/other_model.onnx", 1024), ("junk.bin", 3_000_000) })
        {
            await models.GetBlobClient($"{RepoPaths.ShippedModelName}/{name}").UploadAsync(new BinaryData(new byte[bytes]));
        }

        using var app = new TestApp(storage, new Dictionary<string, string?> { ["Models:Container"] = container });

        (await Http.ExecuteAsync(app.Function<TranslateFunction>().Run(Http.Json(new { text = Sentence }), CancellationToken.None)))
            .ShouldBe(200);

        var needed = ShippedModelFiles.Needed();
        Assert.Contains("onnx/encoder_model.onnx", needed);
        var download = Assert.Single(app.FlushTelemetry().Metrics(InferenceTelemetry.Instruments.ModelDownloadSize));
        Assert.Equal((1, needed.Sum(f => new FileInfo(Path.Combine(RepoPaths.ShippedModel, f)).Length)), (download.Count, download.Sum));
        var cached = Directory.GetFiles(app.CacheDirectory, "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToList();
        Assert.DoesNotContain("status.json", cached);
        Assert.DoesNotContain("other_model.onnx", cached);
        Assert.DoesNotContain("junk.bin", cached);
    }

    [Fact]
    public async Task GenerationSettingsTheEngineDoesNotApplyAreLoggedOnceAtLoad()
    {
        var container = storage.Blobs.GetBlobContainerClient(StorageFixture.UniqueContainer("ignored"));
        await ModelUploader.UploadDirectoryAsync(container, RepoPaths.ShippedModel, RepoPaths.ShippedModelName + "/");
        var settings = Path.GetTempFileName();
        await File.WriteAllTextAsync(settings, """
            {"eos_token_id": 0, "pad_token_id": 7932, "decoder_start_token_id": 7932, "bad_words_ids": [[7932]],
             "forced_eos_token_id": 0, "max_length": 128, "num_beams": 4, "do_sample": true, "top_k": 20}
            """);
        await ModelUploader.UploadFileAsync(container.GetBlobClient($"{RepoPaths.ShippedModelName}/generation_config.json"),
            settings);
        File.Delete(settings);
        using var app = new TestApp(storage, new Dictionary<string, string?> { ["Models:Container"] = container.Name });
        var function = app.Function<TranslateFunction>();

        (await Http.ExecuteAsync(function.Run(Http.Json(new { text = Sentence }), CancellationToken.None))).ShouldBe(200);
        (await Http.ExecuteAsync(function.Run(Http.Json(new { text = Sentence }), CancellationToken.None))).ShouldBe(200);

        var line = Assert.Single(app.Logs.Lines, l => l.Message.Contains("generation_config.json settings ignored",
            StringComparison.Ordinal));
        Assert.Contains("do_sample=true, top_k=20", line.Message);
        Assert.Contains(RepoPaths.ShippedModelName, line.Message);
    }

    [Fact]
    public async Task MissingModelAnswers503WithRetryAfterThenSucceedsOnceUploadedAndBackOffPassed()
    {
        var container = StorageFixture.UniqueContainer("missing");
        using var app = new TestApp(storage, new Dictionary<string, string?> { ["Models:Container"] = container });
        var function = app.Function<TranslateFunction>();

        var first = await Http.ExecuteAsync(function.Run(Http.Json(new { text = Sentence }), CancellationToken.None));
        first.ShouldBe(503);
        Assert.Equal("10", first.Headers.RetryAfter.ToString());
        Assert.StartsWith("application/problem+json", first.ContentType);
        Assert.Contains("does not exist", first.Json.GetProperty("detail").GetString());
        var health = await Http.ExecuteAsync(app.Function<HealthFunction>().Run(Http.Request("GET")));
        var model = health.Json.GetProperty("models")[0];
        Assert.Equal("failed", model.GetProperty("state").GetString());
        Assert.Contains(container, model.GetProperty("reason").GetString());

        await ModelUploader.UploadDirectoryAsync(storage.Blobs.GetBlobContainerClient(container), RepoPaths.ShippedModel,
            RepoPaths.ShippedModelName + "/");
        var withinBackOff = await Http.ExecuteAsync(function.Run(Http.Json(new { text = Sentence }), CancellationToken.None));
        withinBackOff.ShouldBe(503); // the failure is remembered briefly, not retried on every call

        app.Clock.Advance(TimeSpan.FromSeconds(10));
        var retried = await Http.ExecuteAsync(function.Run(Http.Json(new { text = Sentence }), CancellationToken.None));
        retried.ShouldBe(200);
        health = await Http.ExecuteAsync(app.Function<HealthFunction>().Run(Http.Request("GET")));
        Assert.Equal("ready", health.Json.GetProperty("models")[0].GetProperty("state").GetString());
    }

    [Fact]
    public async Task CorruptedModelFileFailsWithAClearReasonAndIsRetriedCleanlyAfterRepair()
    {
        var container = storage.Blobs.GetBlobContainerClient(StorageFixture.UniqueContainer("corrupt"));
        await ModelUploader.UploadDirectoryAsync(container, RepoPaths.ShippedModel, RepoPaths.ShippedModelName + "/");
        var encoderBlob = container.GetBlobClient($"{RepoPaths.ShippedModelName}/onnx/encoder_model.onnx");
        var garbage = Path.GetTempFileName();
        await File.WriteAllBytesAsync(garbage, Enumerable.Range(0, 4096).Select(i => (byte)(i * 7)).ToArray());
        await ModelUploader.UploadFileAsync(encoderBlob, garbage);
        File.Delete(garbage);
        using var app = new TestApp(storage, new Dictionary<string, string?> { ["Models:Container"] = container.Name });
        var function = app.Function<TranslateFunction>();

        var failed = await Http.ExecuteAsync(function.Run(Http.Json(new { text = Sentence }), CancellationToken.None));
        failed.ShouldBe(503);
        var detail = failed.Json.GetProperty("detail").GetString();
        Assert.Contains("encoder_model.onnx", detail);
        Assert.DoesNotContain(app.CacheDirectory, detail); // neither the cache folder nor the staging folder
        Assert.DoesNotContain("   at ", failed.Body);
        Assert.Equal(1, app.FlushTelemetry().Count(InferenceTelemetry.Instruments.ModelLoadDuration,
            InferenceTelemetry.Attributes.ErrorType, InferenceTelemetry.FailureKinds.ModelFormat));

        await ModelUploader.UploadFileAsync(encoderBlob, Path.Combine(RepoPaths.ShippedModel, "onnx", "encoder_model.onnx"));
        app.Clock.Advance(TimeSpan.FromSeconds(10));
        var repaired = await Http.ExecuteAsync(function.Run(Http.Json(new { text = Sentence }), CancellationToken.None));
        repaired.ShouldBe(200);
        Assert.Equal(2, app.FlushTelemetry().Count(InferenceTelemetry.Instruments.ModelDownloadSize));
        Assert.Single(Directory.GetDirectories(Path.Combine(app.CacheDirectory, RepoPaths.ShippedModelName))); // no stale copies
    }

    [Fact]
    public async Task BlobWhoseContentDoesNotMatchItsContentMd5IsRejectedUntilFixed()
    {
        var container = storage.Blobs.GetBlobContainerClient(StorageFixture.UniqueContainer("md5"));
        await ModelUploader.UploadDirectoryAsync(container, RepoPaths.ShippedModel, RepoPaths.ShippedModelName + "/");
        var vocab = container.GetBlobClient($"{RepoPaths.ShippedModelName}/vocab.json");
        await vocab.SetHttpHeadersAsync(new BlobHttpHeaders { ContentHash = new byte[16] });
        using var app = new TestApp(storage, new Dictionary<string, string?> { ["Models:Container"] = container.Name });
        var function = app.Function<TranslateFunction>();

        var failed = await Http.ExecuteAsync(function.Run(Http.Json(new { text = Sentence }), CancellationToken.None));
        failed.ShouldBe(503);
        Assert.Contains("Content-MD5", failed.Json.GetProperty("detail").GetString());
        Assert.Equal(0, app.Factory.Loads);
        Assert.Empty(Directory.GetDirectories(Path.Combine(app.CacheDirectory, RepoPaths.ShippedModelName))); // staging removed

        await ModelUploader.UploadFileAsync(vocab, Path.Combine(RepoPaths.ShippedModel, "vocab.json"));
        app.Clock.Advance(TimeSpan.FromSeconds(10));
        (await Http.ExecuteAsync(function.Run(Http.Json(new { text = Sentence }), CancellationToken.None))).ShouldBe(200);
    }

    [Fact]
    public async Task LaterColdStartOnTheSameInstanceReusesTheVerifiedCache()
    {
        var cache = Path.Combine(Path.GetTempPath(), "si-tests-shared-cache-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (var first = new TestApp(storage, cacheDirectory: cache))
            {
                (await Http.ExecuteAsync(first.Function<TranslateFunction>().Run(Http.Json(new { text = Sentence }),
                    CancellationToken.None))).ShouldBe(200);
                Assert.Equal(1, first.FlushTelemetry().Count(InferenceTelemetry.Instruments.ModelDownloadSize));
            }
            using var second = new TestApp(storage, cacheDirectory: cache);
            (await Http.ExecuteAsync(second.Function<TranslateFunction>().Run(Http.Json(new { text = Sentence }),
                CancellationToken.None))).ShouldBe(200);
            Assert.Equal(0, second.FlushTelemetry().Count(InferenceTelemetry.Instruments.ModelDownloadSize));
            Assert.Equal(1, second.Telemetry.Count(InferenceTelemetry.Instruments.ModelCacheHits));
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    [Fact]
    public async Task LeastRecentlyUsedModelIsEvictedButDisposedOnlyAfterItsLastRequestEnds()
    {
        var prefix = RepoPaths.ShippedModelName + "/";
        using var app = new TestApp(storage, new Dictionary<string, string?>
        {
            ["Models:MaxLoaded"] = "1",
            ["Models:DefaultModel"] = "a",
            ["Models:Catalog:0:Name"] = "a",
            ["Models:Catalog:0:Prefix"] = prefix,
            ["Models:Catalog:1:Name"] = "b",
            ["Models:Catalog:1:Prefix"] = prefix,
        });
        var host = app.Get<ModelHost>();

        var leaseA = await host.AcquireAsync("a", CancellationToken.None);
        using (var leaseB = await host.AcquireAsync("b", CancellationToken.None))
        {
            Assert.Equal(ModelState.NotLoaded, host.GetStatuses().Single(s => s.Name == "a").State);
            Assert.Empty(app.Factory.Disposed); // "a" is evicted but its request still runs on it
            await leaseA.Scheduler.TranslateAsync(new TranslationRequest(["still usable"]));
            leaseA.Dispose();
            Assert.Equal(["a"], app.Factory.Disposed);
        }
        using var again = await host.AcquireAsync("a", CancellationToken.None);
        Assert.Equal(3, app.Factory.Loads);
        Assert.Equal(["a", "b"], app.Factory.Disposed); // "b" had no request left: disposed at eviction
    }

    [Fact]
    public async Task UnknownModelIsRejectedWithoutTouchingStorage()
    {
        using var app = new TestApp(storage);
        await Assert.ThrowsAsync<UnknownModelException>(() => app.Get<ModelHost>().AcquireAsync("fr-de", CancellationToken.None));
        Assert.Equal(0, app.Factory.Loads);
    }
}
