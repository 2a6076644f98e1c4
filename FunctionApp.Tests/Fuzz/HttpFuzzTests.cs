using System.Text.Json;
using Azure.Storage.Queues;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Functions;
using ServerlessInference.Jobs;
using Xunit.Abstractions;

namespace ServerlessInference.Tests.Fuzz;

/// <summary>
/// Generated malformed and odd requests against the HTTP functions, on Azurite with the shipped model and the
/// app's default limits. Every case must get its expected answer: a 4xx problem+json for anything invalid (never a
/// 500, never an exception out of the function), 2xx only for requests that are valid; and no case may create or
/// delete a container, touch the models container, or (unless it is a valid submission) write to the jobs container.
/// </summary>
[Collection(StorageCollection.Name)]
public sealed class HttpFuzzTests(StorageFixture storage, ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>A problem answer longer than this echoes the request back instead of saying what is wrong.</summary>
    private const int MaxProblemLength = 2048;

    private static readonly int ModelMaxNewTokens = MarianModelFolder.Read(RepoPaths.ShippedModel).Generation.MaxLength - 1;

    private readonly string _jobsContainer = StorageFixture.UniqueContainer("fuzz");

    private QueueClient JobQueue => storage.Queues.GetQueueClient(JobsOptions.Queue);

    public async Task InitializeAsync()
    {
        // The app creates it on first use; created here, so a case that creates it is not mistaken for one that
        // creates a container it should not.
        await storage.Blobs.GetBlobContainerClient(_jobsContainer).CreateIfNotExistsAsync();
        await JobQueue.CreateIfNotExistsAsync();
        await JobQueue.ClearMessagesAsync();
    }

    public async Task DisposeAsync() => await JobQueue.ClearMessagesAsync(); // valid submissions enqueued chunks

    [Fact]
    public async Task TranslateRejectsEveryMalformedRequestWithProblemDetailsAndTranslatesOnlyValidOnes()
    {
        using var app = NewApp();
        var translate = app.Function<TranslateFunction>();

        await RunAsync("translate", HttpCases.Translate(seed: 1001, ModelMaxNewTokens),
            c => Http.ExecuteAsync(translate.Run(c.ToRequest(), CancellationToken.None)), mayWriteJobs: null);
    }

    [Fact]
    public async Task SubmitJobRejectsEveryMalformedRequestOrHostileInputBlobWithoutWritingAndAcceptsOnlyValidOnes()
    {
        var container = storage.Blobs.GetBlobContainerClient(_jobsContainer);
        foreach (var (name, content) in HttpCases.SubmitInputBlobs)
        {
            await container.GetBlobClient(name).UploadAsync(BinaryData.FromBytes(content), overwrite: true);
        }

        using var app = NewApp();
        var jobs = app.Function<JobFunctions>();

        await RunAsync("submit", HttpCases.Submit(seed: 1002, ModelMaxNewTokens),
            c => Http.ExecuteAsync(jobs.Submit(c.ToRequest(), CancellationToken.None)),
            mayWriteJobs: c => c.IsValid, check: CheckSubmitted);
    }

    [Fact]
    public async Task GetJobRejectsMalformedJobIdsWith400AndAnswersUnknownOnesWith404()
    {
        using var app = NewApp();
        var jobs = app.Function<JobFunctions>();
        var existing = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var submitted = await Http.ExecuteAsync(jobs.Submit(Http.Json(new { texts = new[] { "Hello." } }), CancellationToken.None));
            existing.Add(submitted.ShouldBe(202).Json.GetProperty("jobId").GetString()!);
        }

        await RunAsync("get", HttpCases.Get(seed: 1003, existing),
            c => Http.ExecuteAsync(jobs.Get(c.ToRequest(), c.JobId!, CancellationToken.None)), mayWriteJobs: _ => false,
            check: (c, response) => response.Status == 200 && response.Json.GetProperty("jobId").GetString() != c.JobId
                ? ["the answer is about another job"]
                : []);
    }

    [Fact]
    public async Task HealthAnswersAnyRequestWith200AndNeverLoadsAModel()
    {
        using var app = NewApp();
        var health = app.Function<HealthFunction>();

        await RunAsync("health", HttpCases.Health(seed: 1004),
            c => Http.ExecuteAsync(health.Run(c.ToRequest())), mayWriteJobs: null,
            check: (_, response) =>
            {
                var problems = new List<string>();
                if (response.Status == 200 && response.Json.GetProperty("status").GetString() != "alive")
                {
                    problems.Add("status is not 'alive'");
                }

                if (app.Factory.Loads != 0)
                {
                    problems.Add("a model was loaded");
                }

                return problems;
            });
    }

    private TestApp NewApp() => new(storage, new Dictionary<string, string?> { ["Jobs:Container"] = _jobsContainer });

    private async Task RunAsync(string title, IEnumerable<HttpCase> cases, Func<HttpCase, Task<TestResponse>> call,
        Func<HttpCase, bool>? mayWriteJobs, Func<HttpCase, TestResponse, IEnumerable<string>>? check = null)
    {
        var report = new FuzzReport(output, title);
        // A function with no business in the jobs container (mayWriteJobs null) is held to that by the whole-account
        // comparison instead of a listing per case.
        var watched = mayWriteJobs is null ? null : _jobsContainer;
        var account = await StorageState.AccountAsync(storage.Blobs, exceptContainer: watched);
        var before = await StorageState.ReadAsync(storage.Blobs, watched);
        foreach (var c in cases)
        {
            var problems = new List<string>();
            TestResponse? response = null;
            try
            {
                response = await call(c);
            }
            catch (Exception ex)
            {
                problems.Add($"exception escaped: {ex.GetType().FullName}: {ex.Message}");
            }
            if (response is not null)
            {
                problems.AddRange(CheckAnswer(c, response));
                if (check is not null && problems.Count == 0)
                {
                    problems.AddRange(check(c, response));
                }
            }
            var after = await StorageState.ReadAsync(storage.Blobs, watched);
            problems.AddRange(before.Compare(after, mayWriteJobs?.Invoke(c) == true ? _ => true : null));
            before = after; // nothing runs between two cases
            report.Add(c.Class, c.IsValid, c.ToString(), problems,
                response is null ? null : $"{response.Status} {response.ContentType} {FuzzJson.Preview(response.Body, 400)}");
        }
        var changes = StorageState.Diff(account, await StorageState.AccountAsync(storage.Blobs, exceptContainer: watched)).ToList();
        await StorageState.RemoveAddedAsync(storage.Blobs, changes);
        report.Finish(changes.Select(change => $"{(watched is null ? "storage" : "outside the jobs container")}: {change}").ToArray());
    }

    private static IEnumerable<string> CheckAnswer(HttpCase c, TestResponse response)
    {
        if (!c.Expected.Contains(response.Status))
        {
            yield return $"status {response.Status}, expected {string.Join(" or ", c.Expected)}";
        }

        var contentType = response.ContentType ?? "";
        if (response.Status is >= 400 and < 600)
        {
            if (!contentType.StartsWith("application/problem+json", StringComparison.OrdinalIgnoreCase))
            {
                yield return $"Content-Type '{contentType}', expected application/problem+json";
            }

            string? problem = null;
            try
            {
                var json = response.Json;
                if (!json.TryGetProperty("status", out var status) || status.ValueKind != JsonValueKind.Number
                    || status.GetInt32() != response.Status)
                {
                    problem = "the problem's 'status' does not match the response";
                }
                else if (!json.TryGetProperty("detail", out var detail) || string.IsNullOrWhiteSpace(detail.GetString()))
                {
                    problem = "the problem has no 'detail'";
                }
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException)
            {
                problem = $"the problem is not a JSON object ({ex.Message})";
            }
            if (problem is not null)
            {
                yield return problem;
            }

            if (response.Body.Contains("   at ", StringComparison.Ordinal)
                || response.Body.Contains(" at ServerlessInference", StringComparison.Ordinal))
            {
                yield return "the problem carries a stack trace";
            }

            if (response.Body.Length > MaxProblemLength)
            {
                yield return $"the problem is {response.Body.Length} characters long (it echoes the request)";
            }
        }
        if (response.Status is >= 200 and < 300)
        {
            if (!contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            {
                yield return $"Content-Type '{contentType}', expected application/json";
            }

            if (c.Translations is { } count)
            {
                var translations = response.Json.GetProperty("translations");
                if (translations.GetArrayLength() != count)
                {
                    yield return $"{translations.GetArrayLength()} translations for {count} texts";
                }
                else if (translations.EnumerateArray().Any(t => t.GetProperty("text").ValueKind != JsonValueKind.String))
                {
                    yield return "a translation without text";
                }
            }
        }
    }

    private static IEnumerable<string> CheckSubmitted(HttpCase c, TestResponse response)
    {
        if (response.Status != 202)
        {
            yield break;
        }

        var jobId = response.Json.GetProperty("jobId").GetString();
        if (!JobBlobNames.IsJobId(jobId))
        {
            yield return $"job id '{jobId}' is not of the app's format";
        }

        if (response.Headers.Location.ToString() != $"/api/jobs/{jobId}")
        {
            yield return $"Location '{response.Headers.Location}'";
        }
    }
}
