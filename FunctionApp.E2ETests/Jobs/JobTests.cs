using System.Text.Json;
using Azure.Storage.Blobs.Models;
using ServerlessInference.Tests.Support;

namespace ServerlessInference.E2ETests.Jobs;

/// <summary>Batch jobs through the host's queue trigger: submitted over HTTP or straight onto the queue, in either
/// message encoding, with hostile and malformed messages beside them.</summary>
[Collection(HostCollection.Name)]
public sealed class JobTests(HostFixture fixture)
{
    private JobDriver Jobs => new(fixture.App);

    [HostFact]
    public async Task AThousandLineJobCompletesWithEveryLineExactlyOnceInInputOrder()
    {
        var sentences = File.ReadLines(RepoPaths.DevSet).Select(l => l.Split('\t')[0]).Where(s => s.Length > 0).Take(250).ToArray();
        var lines = Enumerable.Range(0, 1000).Select(i => JobDriver.Line($"line-{i:D4}", sentences[i % sentences.Length])).ToList();
        var inputBlob = $"inputs/e2e-{Guid.NewGuid():N}.jsonl";
        await fixture.App.Jobs.GetBlobClient(inputBlob).UploadAsync(BinaryData.FromString(string.Join('\n', lines)));

        var jobId = await Jobs.SubmitAsync(new { inputBlob });
        var status = await Jobs.WaitForEndAsync(jobId);

        JobDriver.ShouldBeCompleted(status);
        Assert.Equal(status.GetProperty("chunksTotal").GetInt32(), status.GetProperty("chunksDone").GetInt32());
        Assert.Equal(1000, status.GetProperty("items").GetInt32());
        var result = await Jobs.ResultAsync(jobId);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"line-{i:D4}"), result.Select(r => r.GetProperty("id").GetString()));
        Assert.All(result, r => Assert.False(string.IsNullOrWhiteSpace(r.GetProperty("text").GetString())));
        // Equal inputs translate equally wherever their chunk ran.
        Assert.Equal(result[0].GetProperty("text").GetString(), result[250].GetProperty("text").GetString());
    }

    [HostFact]
    public async Task MessagesAreReadWhetherSentAsPlainJsonOrAsBase64()
    {
        var plain = await Jobs.WriteInputAsync([JobDriver.Line("a", "Hello."), JobDriver.Line("b", "Good night.")]);
        var base64 = await Jobs.WriteInputAsync([JobDriver.Line("a", "Hello."), JobDriver.Line("b", "Good night.")]);

        await Jobs.SendPlainAsync(JobDriver.Message(plain, 0, 1));
        await Jobs.SendBase64Async(JobDriver.Message(base64, 0, 1));

        var results = new List<List<JsonElement>>();
        foreach (var jobId in new[] { plain, base64 })
        {
            JobDriver.ShouldBeCompleted(await Jobs.WaitForEndAsync(jobId));
            results.Add(await Jobs.ResultAsync(jobId));
        }

        Assert.Equal(["a", "b"], results[0].Select(r => r.GetProperty("id").GetString()));
        Assert.Equal(results[0].Select(r => r.GetProperty("text").GetString()), results[1].Select(r => r.GetProperty("text").GetString()));
    }

    [HostFact]
    public async Task HostileMessagesAreDroppedOrFailTheirJobAndNothingIsWrittenOutsideTheJobsContainer()
    {
        var before = await SnapshotAsync();
        var validId = Guid.NewGuid().ToString("N");
        string[] hostile =
        [
            "", " ", "{", "}", "[]", "null", "42", "\"text\"", "not json at all",
            "{\"jobId\":\"../models/x\",\"chunk\":0,\"chunkCount\":1}",
            "{\"jobId\":\"..%2f..%2fmodels\",\"chunk\":0,\"chunkCount\":1}", "{\"jobId\":\"/etc/passwd\",\"chunk\":0,\"chunkCount\":1}",
            "{\"jobId\":\"" + validId.ToUpperInvariant() + "\",\"chunk\":0,\"chunkCount\":1}",
            "{\"jobId\":\"" + new string('a', 64) + "\",\"chunk\":0,\"chunkCount\":1}",
            "{\"jobId\":\"models\",\"chunk\":0,\"chunkCount\":1}", "{\"jobId\":\"\",\"chunk\":0,\"chunkCount\":1}",
            "{\"jobId\":\"a\\u0000b\",\"chunk\":0,\"chunkCount\":1}", "{\"jobId\":\"\\ud800\",\"chunk\":0,\"chunkCount\":1}",
            "{\"jobId\":[\"" + validId + "\"],\"chunk\":0,\"chunkCount\":1}", "{\"jobId\":null,\"chunk\":0,\"chunkCount\":1}",
            "{\"jobId\":\"" + validId + "\",\"jobId\":\"" + validId + "\",\"chunk\":0,\"chunkCount\":1}",
            "{\"jobId\":\"" + validId + "\",\"chunk\":\"0\",\"chunkCount\":1}",
            "{\"jobId\":\"" + validId + "\",\"chunk\":-1,\"chunkCount\":1}",
            "{\"jobId\":\"" + validId + "\",\"chunk\":0,\"chunkCount\":0}",
            "{\"version\":2,\"jobId\":\"" + validId + "\",\"chunk\":0,\"chunkCount\":1}",
            "{\"jobId\":\"" + validId + "\",\"chunk\":0,\"chunkCount\":1,\"targetLanguage\":\"../../x\"}",
            "{\"jobId\":\"" + validId + "\",\"chunk\":0,\"chunkCount\":1,\"model\":\"../models\"}",
            new string('[', 20_000), "{\"a\":" + new string('[', 5_000) + new string(']', 5_000) + "}",
            "=?utf-8?b?e30=?=", "AAAA////", Convert.ToBase64String([0xFF, 0xFE, 0x00, 0x7B]),
        ];
        foreach (var text in hostile)
        {
            await Jobs.SendPlainAsync(text);
            if (text.Length is > 0 and < 10_000)
            {
                await Jobs.SendBase64Async(text);
            }
        }

        await Jobs.WaitForQueuesToDrainAsync(TimeSpan.FromMinutes(2));
        var after = await SnapshotAsync();

        Assert.Equal(before.Containers, after.Containers);
        Assert.Equal(before.OtherBlobs, after.OtherBlobs);
        // The only thing written: the status of the one valid job id, failed with the reason.
        Assert.All(after.JobBlobs.Except(before.JobBlobs), name => Assert.Equal($"{validId}/status.json", name));
        var reasons = JobDriver.ShouldBeFailed((await fixture.Host.SendAsync(HttpMethod.Get, $"api/jobs/{validId}")).ShouldBe(200));
        Assert.Contains("Malformed message", reasons);
        Assert.False(fixture.Host.HasExited);
        (await fixture.Host.SendAsync(HttpMethod.Post, "api/translate", new { text = "Hello." })).ShouldBe(200);
    }

    [HostFact]
    public async Task AMalformedMessageFailsItsJobThroughThePoisonQueueWithTheReason()
    {
        var jobId = await Jobs.WriteInputAsync([JobDriver.Line("a", "Hello.")]);

        await Jobs.SendPlainAsync($$"""{"jobId":"{{jobId}}","chunk":"0","chunkCount":1}""");

        var reasons = JobDriver.ShouldBeFailed(await Jobs.WaitForEndAsync(jobId));
        Assert.StartsWith("Malformed message: ", reasons);
        Assert.Contains("chunk", reasons);
    }

    [HostFact]
    public async Task ARepeatedFieldMakesAMessageMalformedAsItMakesARequestA400()
    {
        var jobId = await Jobs.WriteInputAsync([JobDriver.Line("a", "Hello.")]);

        await Jobs.SendBase64Async($$"""{"jobId":"{{jobId}}","chunk":0,"chunkCount":1,"beams":99,"beams":1}""");

        Assert.Contains("beams", JobDriver.ShouldBeFailed(await Jobs.WaitForEndAsync(jobId)));
    }

    [HostFact]
    public async Task AChunkCountTheJobCannotHaveFailsTheJobInsteadOfLeavingItRunning()
    {
        var huge = await Jobs.WriteInputAsync([JobDriver.Line("a", "Hello.")]);
        var two = await Jobs.WriteInputAsync([JobDriver.Line("a", "Hello.")]);
        var submitted = await Jobs.SubmitAsync(new { texts = new[] { "Hello." } });
        JobDriver.ShouldBeCompleted(await Jobs.WaitForEndAsync(submitted));

        await Jobs.SendPlainAsync(JobDriver.Message(huge, 0, int.MaxValue));
        await Jobs.SendPlainAsync(JobDriver.Message(two, 0, 2));

        Assert.Contains("chunkCount", JobDriver.ShouldBeFailed(await Jobs.WaitForEndAsync(huge, TimeSpan.FromSeconds(60))));
        Assert.Contains("input chunk 1 does not exist",
            JobDriver.ShouldBeFailed(await Jobs.WaitForEndAsync(two, TimeSpan.FromSeconds(60))));
    }

    [HostFact]
    public async Task ALoneSurrogateReadsAsTheReplacementCharacterInAChunkAsInAnInputBlob()
    {
        const string line = """{"id":"0","text":"Hello \ud800 world."}""";
        var direct = await Jobs.WriteInputAsync([line]);
        var inputBlob = $"inputs/e2e-{Guid.NewGuid():N}.jsonl";
        await fixture.App.Jobs.GetBlobClient(inputBlob).UploadAsync(BinaryData.FromString(line + "\n"));

        await Jobs.SendPlainAsync(JobDriver.Message(direct, 0, 1));
        var viaBlob = await Jobs.SubmitAsync(new { inputBlob });

        var texts = new List<string?>();
        foreach (var jobId in new[] { direct, viaBlob })
        {
            JobDriver.ShouldBeCompleted(await Jobs.WaitForEndAsync(jobId, TimeSpan.FromSeconds(60)));
            texts.Add((await Jobs.ResultAsync(jobId)).Single().GetProperty("text").GetString());
        }

        Assert.Equal(texts[0], texts[1]);
        var answer = (await fixture.Host.SendAsync(HttpMethod.Post, "api/translate", new { text = "Hello \uFFFD world." })).ShouldBe(200);
        Assert.Equal(answer.GetProperty("translations")[0].GetProperty("text").GetString(), texts[0]);
    }

    private sealed record Snapshot(List<string> Containers, List<string> OtherBlobs, List<string> JobBlobs);

    /// <summary>Every container, every blob outside the jobs container (name and ETag), every blob name inside it.</summary>
    private async Task<Snapshot> SnapshotAsync()
    {
        var containers = new List<string>();
        var other = new List<string>();
        var jobs = new List<string>();
        await foreach (var container in fixture.App.Blobs.GetBlobContainersAsync())
        {
            containers.Add(container.Name);
            await foreach (var blob in fixture.App.Blobs.GetBlobContainerClient(container.Name).GetBlobsAsync(new GetBlobsOptions()))
            {
                if (container.Name == "jobs")
                {
                    jobs.Add(blob.Name);
                }
                else
                {
                    other.Add($"{container.Name}/{blob.Name} {blob.Properties.ETag}");
                }
            }
        }

        return new Snapshot(containers, other, jobs);
    }
}
