using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using OpenTelemetry.Metrics;
using ServerlessInference.Functions;
using ServerlessInference.Jobs;

namespace ServerlessInference.Tests.Telemetry;

/// <summary>Runs alone: the exporter subscribes to the app's meter by name, process-wide, so measurements of tests
/// running beside it would be scraped too.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PrometheusCollection
{
    public const string Name = "Prometheus endpoint";
}

/// <summary>
/// The app with its Prometheus endpoint on, as the container runs it: real translations through the HTTP function,
/// a batch job through the queue functions and a poison message, then one scrape over HTTP.
/// </summary>
public sealed partial class PrometheusScenario : IAsyncLifetime
{
    public const int HttpCalls = 5;
    public static readonly string[] SecondCallTexts = ["Good night.", "See you tomorrow."];
    public static readonly string[] JobTexts = ["I am hungry.", "It is raining."];

    private readonly StorageFixture _storage = new();
    private TestApp? _app;

    public PrometheusScrape Scrape { get; private set; } = null!;
    public int Port { get; private set; }
    public long ModelBytes { get; private set; }

    public async Task InitializeAsync()
    {
        await _storage.InitializeAsync();
        Port = StorageFixture.FreePorts(1)[0];
        _app = new TestApp(_storage, new Dictionary<string, string?>
        {
            ["Monitoring:PrometheusEnabled"] = "true",
            ["Monitoring:PrometheusPort"] = Port.ToString(CultureInfo.InvariantCulture),
            ["Jobs:Container"] = StorageFixture.UniqueContainer("jobs"),
        });
        // The worker's host resolves the provider at start-up; that starts the listener.
        _app.Get<MeterProvider>();

        var translate = _app.Function<TranslateFunction>();
        for (var i = 0; i < HttpCalls; i++)
        {
            object body = i == 1 ? new { texts = SecondCallTexts } : new { text = $"Hello number {i}." };
            (await Http.ExecuteAsync(translate.Run(Http.Json(body), CancellationToken.None))).ShouldBe(200);
        }

        (await Http.ExecuteAsync(translate.Run(Http.Json(new { text = "Hi.", maxNewTokens = 512 }), CancellationToken.None)))
            .ShouldBe(400);

        var jobs = _app.Function<JobFunctions>();
        (await Http.ExecuteAsync(jobs.Submit(Http.Json(new { texts = JobTexts }), CancellationToken.None))).ShouldBe(202);
        var queue = new QueueClient(_storage.ConnectionString, JobsOptions.Queue,
            new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
        var chunk = Assert.Single((await queue.ReceiveMessagesAsync(maxMessages: 32)).Value);
        await jobs.ProcessChunk(chunk, CancellationToken.None);
        var poison = QueuesModelFactory.QueueMessage("poison-1", "receipt", BinaryData.FromString("this is not JSON"), 5,
            insertedOn: DateTimeOffset.UtcNow);
        await jobs.ProcessPoison(poison, CancellationToken.None);

        ModelBytes = ShippedModelFiles.Needed().Sum(f => new FileInfo(Path.Combine(RepoPaths.ShippedModel, f)).Length);
        Scrape = new PrometheusScrape(await ScrapeAsync(Port));
    }

    public static async Task<string> ScrapeAsync(int port)
    {
        using var client = new HttpClient();
        using var response = await client.GetAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
        response.EnsureSuccessStatusCode();
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync();
    }

    public async Task DisposeAsync()
    {
        _app?.Dispose();
        await _storage.DisposeAsync();
    }
}

[Collection(PrometheusCollection.Name)]
public sealed partial class PrometheusEndpointTests(PrometheusScenario scenario) : IClassFixture<PrometheusScenario>
{
    private const string Model = RepoPaths.ShippedModelName;
    private PrometheusScrape Scrape => scenario.Scrape;

    [Fact]
    public void RequestCountersEqualTheCallsMade()
    {
        Assert.Equal(PrometheusScenario.HttpCalls, Scrape.Sum("translation_duration_seconds_count",
            ("translation_source", "http"), ("translation_outcome", "success"), ("translation_model", Model)));
        Assert.Equal(1, Scrape.Sum("translation_duration_seconds_count",
            ("translation_source", "http"), ("translation_outcome", "invalid_input")));
        Assert.Equal(1, Scrape.Sum("translation_duration_seconds_count",
            ("translation_source", "job"), ("translation_outcome", "success")));
        Assert.Equal(PrometheusScenario.HttpCalls - 1 + PrometheusScenario.SecondCallTexts.Length,
            Scrape.Sum("translation_texts_total", ("translation_source", "http")));
        Assert.Equal(PrometheusScenario.JobTexts.Length, Scrape.Sum("translation_texts_total", ("translation_source", "job")));
        Assert.True(Scrape.Sum("translation_tokens_total", ("translation_token_type", "output")) > 0);
    }

    [Fact]
    public void EngineHistogramsCountEverySentenceOnce()
    {
        // Each text is one sentence; every successful call's sentences ran in some engine batch exactly once.
        var sentences = PrometheusScenario.HttpCalls - 1 + PrometheusScenario.SecondCallTexts.Length + PrometheusScenario.JobTexts.Length;
        Assert.Equal(sentences, Scrape.Sum("engine_batch_size_sum"));
        Assert.Equal(sentences, Scrape.Sum("engine_queue_wait_seconds_count"));
        Assert.Equal(Scrape.Sum("engine_batch_size_count"),
            Scrape.Sum("engine_batch_duration_seconds_count", ("translation_outcome", "success")));
    }

    [Fact]
    public void ModelJobAndPoisonCountersMatchWhatHappened()
    {
        Assert.Equal(1, Scrape.Sum("faas_coldstarts_total"));
        Assert.Equal(1, Scrape.Sum("model_load_duration_seconds_count", ("translation_outcome", "success")));
        Assert.Equal(scenario.ModelBytes, Scrape.Sum("model_download_size_bytes_total", ("translation_model", Model)));
        Assert.Equal(1, Scrape.Sum("jobs_chunks_total", ("jobs_chunk_outcome", "translated")));
        Assert.Equal(1, Scrape.Sum("jobs_chunk_queue_time_seconds_count"));
        Assert.Equal(1, Scrape.Sum("jobs_finished_total", ("jobs_state", "completed")));
        Assert.Equal(1, Scrape.Sum("jobs_poison_messages_total", ("jobs_poison_reason", "malformed")));
        Assert.Equal(0, Scrape.Sum("serving_pending_sentences"));
    }

    [Fact]
    public void HistogramBucketsAreCumulativeAndEndAtTheCount()
    {
        var histograms = Scrape.Names.Where(n => n.EndsWith("_bucket", StringComparison.Ordinal)).ToList();
        Assert.Contains("translation_duration_seconds_bucket", histograms);
        foreach (var bucket in histograms)
        {
            var family = bucket[..^"_bucket".Length];
            foreach (var series in Scrape.Select(bucket).GroupBy(s => SeriesKey(s, "le")))
            {
                var counts = series.OrderBy(s => double.Parse(s.Labels["le"].Replace("+Inf", "Infinity"), CultureInfo.InvariantCulture))
                    .Select(s => s.Value).ToList();
                Assert.Equal(counts.Order(), counts);
                var count = Assert.Single(Scrape.Select(family + "_count"), s => SeriesKey(s, "le") == series.Key);
                Assert.Equal(count.Value, counts[^1]);
            }
        }
    }

    [Fact]
    public void NoSeriesCarriesAJobId()
    {
        Assert.DoesNotMatch(JobIdPattern(), string.Join('\n', Scrape.Samples.SelectMany(s => s.Labels.Values)));
    }

    [Fact]
    public async Task PromtoolAcceptsTheScrape()
    {
        var (exit, output) = await RunAsync(Tool("promtool"), ["check", "metrics"], Scrape.Text);
        Assert.True(exit == 0, $"promtool check metrics failed:\n{output}");
    }

    [Fact]
    public async Task RealPrometheusScrapesTheEndpointAndAnswersQueriesWithTheRequestCount()
    {
        var prometheus = Tool("prometheus");
        var directory = Directory.CreateTempSubdirectory("si-prometheus-");
        var apiPort = StorageFixture.FreePorts(1)[0];
        var config = Path.Combine(directory.FullName, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: serverless-inference
                static_configs:
                  - targets: ["127.0.0.1:{scenario.Port}"]
            """);
        using var process = Process.Start(new ProcessStartInfo(prometheus)
        {
            ArgumentList =
            {
                $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(directory.FullName, "data")}",
                $"--web.listen-address=127.0.0.1:{apiPort}", "--log.level=warn",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var log = process.StandardError.ReadToEndAsync();
        try
        {
            const string query = "sum(translation_duration_seconds_count{translation_source=\"http\",translation_outcome=\"success\"})";
            using var client = new HttpClient();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            string? value = null;
            var expected = PrometheusScenario.HttpCalls.ToString(CultureInfo.InvariantCulture);
            while (value != expected && DateTime.UtcNow < deadline && !process.HasExited)
            {
                value = await QueryAsync(client, apiPort, query);
                if (value is null)
                {
                    await Task.Delay(250); // polling an external process until it has scraped, not synchronising tests
                }
            }

            if (process.HasExited)
            {
                Assert.Fail($"prometheus exited: {await log}");
            }

            Assert.Equal(expected, value);
            Assert.Equal("1", await QueryAsync(client, apiPort, "up{job=\"serverless-inference\"}"));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync();
            directory.Delete(recursive: true);
        }
    }

    /// <summary>The first result's value, or null while Prometheus is not up or has no sample yet.</summary>
    private static async Task<string?> QueryAsync(HttpClient client, int port, string query)
    {
        try
        {
            var body = await client.GetStringAsync(new Uri($"http://127.0.0.1:{port}/api/v1/query?query={Uri.EscapeDataString(query)}"));
            var result = JsonDocument.Parse(body).RootElement.GetProperty("data").GetProperty("result");
            return result.GetArrayLength() == 0 ? null : result[0].GetProperty("value")[1].GetString();
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    [Fact]
    public void EveryDashboardQueryNamesMetricsTheAppExports()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, MonitoringFiles.Dashboard)));
        var panels = dashboard.RootElement.GetProperty("panels").EnumerateArray().ToList();
        Assert.NotEmpty(panels);
        var exported = Scrape.Names.ToHashSet();
        foreach (var panel in panels.Where(p => p.GetProperty("type").GetString() != "row"))
        {
            var title = panel.GetProperty("title").GetString();
            var targets = panel.GetProperty("targets").EnumerateArray().ToList();
            Assert.True(targets.Count > 0, $"panel '{title}' has no query");
            foreach (var target in targets)
            {
                var expr = target.GetProperty("expr").GetString()!;
                var metrics = MonitoringFiles.MetricNames(expr);
                Assert.True(metrics.Count > 0, $"panel '{title}': no metric in {expr}");
                Assert.All(metrics, m => Assert.True(exported.Contains(m), $"panel '{title}' queries {m}, which the app does not export"));
            }
        }
    }

    [Fact]
    public void EveryAlertRuleNamesMetricsTheAppExports()
    {
        var exported = Scrape.Names.ToHashSet();
        foreach (var file in new[] { MonitoringFiles.Rules, MonitoringFiles.PrometheusRule })
        {
            var exprs = MonitoringFiles.RuleExpressions(File.ReadAllText(Path.Combine(RepoPaths.Root, file)));
            Assert.True(exprs.Count >= 6, $"{file} has {exprs.Count} rules");
            foreach (var expr in exprs)
            {
                var metrics = MonitoringFiles.MetricNames(expr);
                Assert.True(metrics.Count > 0, $"{file}: no metric in {expr}");
                Assert.All(metrics, m => Assert.True(exported.Contains(m), $"{file} queries {m}, which the app does not export"));
            }
        }
    }

    private static string SeriesKey(PrometheusSample sample, string except) => string.Join(',',
        sample.Labels.Where(l => l.Key != except).OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));

    internal static string Tool(string name)
    {
        var path = Path.Combine("/usr/bin", name);
        Assert.True(File.Exists(path),
            $"{path} is missing: install the Debian package prometheus (apt-get install -y prometheus); .ci/run does");
        return path;
    }

    internal static async Task<(int Exit, string Output)> RunAsync(string file, string[] arguments, string? stdin = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }

    [GeneratedRegex("[0-9a-f]{32}")]
    private static partial Regex JobIdPattern();
}

/// <summary>The monitoring assets in infra/k8s and how their queries are read.</summary>
public static partial class MonitoringFiles
{
    public const string Component = "infra/k8s/components/prometheus";
    public const string Dashboard = Component + "/dashboard.json";
    public const string Rules = Component + "/alerts.rules.yaml";
    public const string PrometheusRule = Component + "/prometheusrule.yaml";

    private static readonly HashSet<string> PromQlWords =
    [
        "sum", "avg", "min", "max", "count", "rate", "irate", "increase", "histogram_quantile", "by", "without", "on", "ignoring",
        "group_left", "group_right", "and", "or", "unless", "bool", "clamp_min", "clamp_max", "vector", "scalar", "abs", "topk",
        "bottomk", "time", "offset", "absent", "label_replace", "delta", "deriv", "max_over_time", "min_over_time",
        "avg_over_time", "sum_over_time", "changes", "resets", "e", "inf", "nan",
    ];

    /// <summary>Metric names a PromQL expression reads: its identifiers, less label matchers, grouping labels,
    /// strings, durations, numbers, functions and keywords, and Grafana variables.</summary>
    public static HashSet<string> MetricNames(string expr)
    {
        var bare = LabelMatchers().Replace(expr, "");
        bare = Grouping().Replace(bare, "");
        bare = Strings().Replace(bare, "");
        bare = Durations().Replace(bare, "");
        bare = Variables().Replace(bare, "");
        return Identifiers().Matches(bare).Select(m => m.Value).Where(w => !PromQlWords.Contains(w.ToLowerInvariant())).ToHashSet();
    }

    /// <summary>The <c>expr:</c> values of a rules file or PrometheusRule (one-line or block scalars).</summary>
    public static List<string> RuleExpressions(string yaml)
    {
        var lines = yaml.Split('\n');
        var exprs = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            var match = ExprLine().Match(lines[i]);
            if (!match.Success)
            {
                continue;
            }

            var value = match.Groups["value"].Value.Trim();
            if (value is "|" or "|-" or ">" or ">-")
            {
                var indent = match.Groups["indent"].Value.Length;
                var block = lines.Skip(i + 1).TakeWhile(l => l.Trim().Length == 0 || l.Length - l.TrimStart().Length > indent);
                value = string.Join(' ', block.Select(l => l.Trim()));
            }

            exprs.Add(value);
        }

        return exprs;
    }

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex LabelMatchers();

    [GeneratedRegex(@"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
    private static partial Regex Grouping();

    [GeneratedRegex("\"[^\"]*\"|'[^']*'")]
    private static partial Regex Strings();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Durations();

    [GeneratedRegex(@"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")]
    private static partial Regex Variables();

    [GeneratedRegex(@"(?<![0-9.])[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial Regex Identifiers();

    [GeneratedRegex(@"^(?<indent>\s*)(-\s+)?expr:\s*(?<value>.*)$")]
    private static partial Regex ExprLine();
}
