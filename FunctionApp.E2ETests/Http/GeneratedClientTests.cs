using ServerlessInference.Client;

namespace ServerlessInference.E2ETests.Http;

/// <summary>The client generated from the OpenAPI document (Client/TranslationClient.g.cs) against the host: what a
/// caller who only has the document gets.</summary>
[Collection(HostCollection.Name)]
public sealed class GeneratedClientTests(HostFixture fixture)
{
    private FunctionsHost Host => fixture.Host;

    [HostFact]
    public async Task TheGeneratedClientTranslatesAndSubmitsAJobAndReadsItsStatus()
    {
        using var http = new HttpClient { BaseAddress = new Uri(Host.Client.BaseAddress!, "api/"), Timeout = TimeSpan.FromMinutes(3) };
        http.DefaultRequestHeaders.Add("x-functions-key", Host.FunctionKey);
        var client = new TranslationClient(http);

        var translated = await client.TranslateAsync(new TranslateRequest { Texts = ["Hello.", "Good night."], Beams = 2 });
        var job = await client.SubmitJobAsync(new SubmitJobRequest { Texts = ["Hello.", "Good night."] });
        var status = await client.GetJobAsync(job.JobId);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (status.State is JobStatusState.Queued or JobStatusState.Running && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250); // polling, as a job's submitter does
            status = await client.GetJobAsync(job.JobId);
        }

        Assert.Equal(AppInstance.ModelName, translated.Model);
        Assert.Equal(2, translated.Translations.Count);
        Assert.All(translated.Translations, t => Assert.False(string.IsNullOrWhiteSpace(t.Text)));
        Assert.Equal(job.JobId, status.JobId);
        Assert.True(status.State == JobStatusState.Completed, $"job {status.JobId} ended {status.State}");
        Assert.Equal($"jobs/{job.JobId}/result.jsonl", status.ResultBlob);
        Assert.Equal(2, status.Items);
    }

    [HostFact]
    public async Task TheGeneratedClientReadsProblemsHealthAndTheDocumentItself()
    {
        using var http = new HttpClient { BaseAddress = new Uri(Host.Client.BaseAddress!, "api/") };
        http.DefaultRequestHeaders.Add("x-functions-key", Host.FunctionKey);
        var client = new TranslationClient(http);

        var unknown = await Assert.ThrowsAsync<ApiException<Problem>>(() =>
            client.TranslateAsync(new TranslateRequest { Text = "Hello.", Model = "no-such-model" }));
        var health = await client.GetHealthAsync();
        var served = await Host.SendAsync(HttpMethod.Get, "api/openapi.json", withKey: false);

        Assert.Equal(404, unknown.StatusCode);
        Assert.Equal(404, unknown.Result.Status);
        Assert.Contains("no-such-model", unknown.Result.Detail);
        Assert.Equal(HealthResponseStatus.Alive, health.Status);
        Assert.Contains(health.Models, m => m.Name == AppInstance.ModelName);
        Assert.Equal(200, served.Status);
        Assert.StartsWith("application/json", served.ContentType);
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "FunctionApp", "OpenApi", "openapi.json")), served.Text);
    }
}
