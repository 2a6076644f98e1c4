using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.ApplicationInsights;
using Microsoft.Extensions.Logging;
using ServerlessInference.Engine.Batching;

namespace ServerlessInference.Telemetry;

/// <summary>
/// The app's measurements: one <see cref="Meter"/> whose instruments every exporter reads (Prometheus when enabled,
/// Application Insights through <see cref="ApplicationInsightsMetrics"/>), plus a structured log line per event.
/// Attributes stay low-cardinality (model, caller, outcome); per-job and per-request detail goes to the logs only.
/// </summary>
public sealed class InferenceTelemetry : IBatchObserver, IDisposable
{
    public const string MeterName = "ServerlessInference";

    /// <summary>Instrument names; OpenTelemetry semantic-convention names where one exists.</summary>
    public static class Instruments
    {
        public const string HttpRequestDuration = "http.server.request.duration";
        public const string TranslationDuration = "translation.duration";
        public const string TranslationTexts = "translation.texts";
        public const string TranslationTokens = "translation.tokens";
        public const string BatchSize = "engine.batch.size";
        public const string BatchDuration = "engine.batch.duration";
        public const string QueueWait = "engine.queue.wait";
        public const string PendingSentences = "serving.pending_sentences";
        public const string BacklogDrainTime = "serving.backlog.drain_time";
        public const string ModelLoadDuration = "model.load.duration";
        public const string ModelDownloadDuration = "model.download.duration";
        public const string ModelDownloadSize = "model.download.size";
        public const string ModelCacheHits = "model.cache.hits";
        public const string ColdStarts = "faas.coldstarts";
        public const string JobChunks = "jobs.chunks";
        public const string JobChunkDuration = "jobs.chunk.duration";
        public const string JobChunkQueueTime = "jobs.chunk.queue_time";
        public const string PoisonMessages = "jobs.poison_messages";
        public const string JobsFinished = "jobs.finished";
    }

    public static class Attributes
    {
        public const string HttpMethod = "http.request.method";
        public const string HttpStatusCode = "http.response.status_code";
        public const string FunctionName = "faas.invoked_name";
        public const string Model = "translation.model";
        public const string Source = "translation.source";
        public const string Outcome = "translation.outcome";
        public const string TokenType = "translation.token.type";
        public const string Priority = "serving.priority";
        public const string ErrorType = "error.type";
        public const string ChunkOutcome = "jobs.chunk.outcome";
        public const string PoisonReason = "jobs.poison.reason";
        public const string JobState = "jobs.state";
    }

    /// <summary>Values of <see cref="Attributes.Outcome"/> and of model loads' <see cref="Attributes.ErrorType"/>.</summary>
    public static class Outcomes
    {
        public const string Success = "success";
        public const string InvalidInput = "invalid_input";
        public const string Busy = "busy";
        public const string Unavailable = "unavailable";
        public const string Cancelled = "cancelled";
        public const string Error = "error";
    }

    public static class FailureKinds
    {
        public const string Storage = "storage";
        public const string ModelMissing = "model_missing";
        public const string Integrity = "integrity";
        public const string ModelFormat = "model_format";
        public const string Configuration = "configuration";
        public const string Unexpected = "unexpected";
    }

    // Seconds. Extends the semantic conventions' HTTP boundaries past 10 s: long documents and cold loads take minutes.
    private static readonly double[] DurationBuckets =
        [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60, 120, 300];

    private static readonly double[] QueueTimeBuckets = [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];
    private static readonly int[] BatchSizeBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256];

    private readonly ILogger<InferenceTelemetry> _logger;
    private readonly Meter _meter;
    private readonly ApplicationInsightsMetrics? _applicationInsights;
    private readonly Histogram<double> _httpDuration;
    private readonly Histogram<double> _translationDuration;
    private readonly Counter<long> _texts;
    private readonly Counter<long> _tokens;
    private readonly Histogram<int> _batchSize;
    private readonly Histogram<double> _batchDuration;
    private readonly Histogram<double> _queueWait;
    private readonly Histogram<double> _loadDuration;
    private readonly Histogram<double> _downloadDuration;
    private readonly Counter<long> _downloadSize;
    private readonly Counter<long> _cacheHits;
    private readonly Counter<long> _coldStarts;
    private readonly Counter<long> _chunks;
    private readonly Histogram<double> _chunkDuration;
    private readonly Histogram<double> _chunkQueueTime;
    private readonly Counter<long> _poison;
    private readonly Counter<long> _jobsFinished;
    private int _coldStartRecorded;

    /// <param name="client">When registered (the worker's Application Insights, a test's recorder), every instrument's
    /// measurements also reach it as pre-aggregated metrics.</param>
    public InferenceTelemetry(ServingBacklog backlog, ILogger<InferenceTelemetry> logger, TelemetryClient? client = null)
    {
        _logger = logger;
        // One Meter per app instance rather than a static one: listeners tell instances (tests) apart by the object.
        _meter = new Meter(MeterName, typeof(InferenceTelemetry).Assembly.GetName().Version?.ToString());
        _httpDuration = Histogram(Instruments.HttpRequestDuration, "s", "Duration of HTTP requests, by function and status.",
            DurationBuckets);
        _translationDuration = Histogram(Instruments.TranslationDuration, "s",
            "Duration of translation calls (HTTP requests and job chunks), by model, caller and outcome.", DurationBuckets);
        _texts = _meter.CreateCounter<long>(Instruments.TranslationTexts, "{text}", "Texts translated.");
        _tokens = _meter.CreateCounter<long>(Instruments.TranslationTokens, "{token}", "Tokens read (input) and generated (output).");
        _batchSize = _meter.CreateHistogram(Instruments.BatchSize, "{sentence}", "Sentences per engine run.", tags: null,
            new InstrumentAdvice<int> { HistogramBucketBoundaries = BatchSizeBuckets });
        _batchDuration = Histogram(Instruments.BatchDuration, "s", "Duration of engine runs.", DurationBuckets);
        _queueWait = Histogram(Instruments.QueueWait, "s", "Time sentences waited in the scheduler before their engine run.",
            DurationBuckets);
        _loadDuration = Histogram(Instruments.ModelLoadDuration, "s",
            "Model loads (download or cache check plus session creation), by outcome.", DurationBuckets);
        _downloadDuration = Histogram(Instruments.ModelDownloadDuration, "s", "Model downloads from blob storage.", DurationBuckets);
        _downloadSize = _meter.CreateCounter<long>(Instruments.ModelDownloadSize, "By", "Bytes of model files downloaded.");
        _cacheHits = _meter.CreateCounter<long>(Instruments.ModelCacheHits, "{hit}", "Model loads served from the local cache.");
        _coldStarts = _meter.CreateCounter<long>(Instruments.ColdStarts, "{coldstart}",
            "Instance starts: the first model load of a worker process.");
        _chunks = _meter.CreateCounter<long>(Instruments.JobChunks, "{chunk}", "Job chunk attempts, by outcome.");
        _chunkDuration = Histogram(Instruments.JobChunkDuration, "s", "Duration of job chunk attempts, by outcome.", DurationBuckets);
        _chunkQueueTime = Histogram(Instruments.JobChunkQueueTime, "s",
            "Age of a job chunk's queue message when the worker picks it up.", QueueTimeBuckets);
        _poison = _meter.CreateCounter<long>(Instruments.PoisonMessages, "{message}", "Job messages given up on, by reason.");
        _jobsFinished = _meter.CreateCounter<long>(Instruments.JobsFinished, "{job}", "Jobs that reached a final state.");
        _meter.CreateObservableGauge(Instruments.PendingSentences, () => backlog.PendingSentences, "{sentence}",
            "Sentences queued or running on this instance.");
        _meter.CreateObservableGauge(Instruments.BacklogDrainTime, () => backlog.EstimatedSeconds, "s",
            "How long this instance's pending sentences take at the measured engine speed.");
        _applicationInsights = client is null ? null : new ApplicationInsightsMetrics(_meter, client);
    }

    public Meter Meter => _meter;

    public void HttpRequestCompleted(string function, string method, int statusCode, TimeSpan duration)
    {
        var tags = new TagList
        {
            { Attributes.FunctionName, function },
            { Attributes.HttpMethod, method },
            { Attributes.HttpStatusCode, statusCode },
        };
        if (statusCode >= 500)
        {
            tags.Add(Attributes.ErrorType, statusCode.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        _httpDuration.Record(duration.TotalSeconds, tags);
    }

    public void ModelDownloaded(string model, long bytes, int files, TimeSpan duration)
    {
        var tags = new TagList { { Attributes.Model, model } };
        _downloadSize.Add(bytes, tags);
        _downloadDuration.Record(duration.TotalSeconds, tags);
        _logger.ModelDownloaded(model, files, bytes, duration.TotalMilliseconds);
    }

    public void ModelCacheHit(string model, string directory)
    {
        _cacheHits.Add(1, new TagList { { Attributes.Model, model } });
        _logger.ModelCacheHit(model, directory);
    }

    public void ModelLoaded(string model, TimeSpan sessionCreation, TimeSpan total)
    {
        _loadDuration.Record(total.TotalSeconds, new TagList { { Attributes.Model, model }, { Attributes.Outcome, Outcomes.Success } });
        if (Interlocked.Exchange(ref _coldStartRecorded, 1) == 0)
        {
            _coldStarts.Add(1, new TagList { { Attributes.Model, model } });
        }

        _logger.ModelLoaded(model, total.TotalMilliseconds, sessionCreation.TotalMilliseconds);
    }

    /// <summary>The failure itself is logged, with its exception, by the model host.</summary>
    public void ModelLoadFailed(string model, string kind, TimeSpan duration)
    {
        _loadDuration.Record(duration.TotalSeconds, new TagList
        {
            { Attributes.Model, model },
            { Attributes.Outcome, Outcomes.Error },
            { Attributes.ErrorType, kind },
        });
    }

    public void Translated(string model, string source, int texts, int inputTokens, int outputTokens, TimeSpan duration)
    {
        _translationDuration.Record(duration.TotalSeconds, TranslationTags(model, source, Outcomes.Success));
        var tags = new TagList { { Attributes.Model, model }, { Attributes.Source, source } };
        _texts.Add(texts, tags);
        _tokens.Add(inputTokens, [.. tags, new(Attributes.TokenType, "input")]);
        _tokens.Add(outputTokens, [.. tags, new(Attributes.TokenType, "output")]);
        _logger.Translated(texts, model, source, inputTokens, outputTokens, duration.TotalMilliseconds);
    }

    /// <summary>A translation call that did not succeed; <paramref name="outcome"/> is one of <see cref="Outcomes"/>.</summary>
    public void TranslationFailed(string model, string source, string outcome, string reason, TimeSpan duration)
    {
        _translationDuration.Record(duration.TotalSeconds, TranslationTags(model, source, outcome));
        _logger.TranslationFailed(model, source, outcome, reason);
    }

    /// <summary>An engine run of the scheduler: its size, duration, and how long each of its sentences waited.</summary>
    public void BatchRan(string model, int sentences, TimeSpan duration, bool succeeded,
        IEnumerable<(WorkPriority Priority, TimeSpan Wait)> waits)
    {
        var tags = new TagList { { Attributes.Model, model } };
        _batchSize.Record(sentences, tags);
        _batchDuration.Record(duration.TotalSeconds, [.. tags, new(Attributes.Outcome, succeeded ? Outcomes.Success : Outcomes.Error)]);
        foreach (var (priority, wait) in waits)
        {
            var name = priority == WorkPriority.Interactive ? "interactive" : "background";
            _queueWait.Record(wait.TotalSeconds, [.. tags, new(Attributes.Priority, name)]);
        }
    }

    public void JobChunkStarted(DateTimeOffset? enqueuedAt, DateTimeOffset now)
    {
        if (enqueuedAt is { } inserted)
        {
            _chunkQueueTime.Record(Math.Max(0, (now - inserted).TotalSeconds));
        }
    }

    /// <summary>One attempt at a chunk; <paramref name="outcome"/>: translated, skipped, malformed, failed (the job
    /// fails), or retry (the attempt threw and the queue delivers the message again).</summary>
    public void JobChunkProcessed(string jobId, int chunk, int items, TimeSpan duration, string outcome)
    {
        var tags = new TagList { { Attributes.ChunkOutcome, outcome } };
        _chunks.Add(1, tags);
        _chunkDuration.Record(duration.TotalSeconds, tags);
        _logger.JobChunkProcessed(jobId, chunk, items, outcome, duration.TotalMilliseconds);
    }

    /// <param name="malformed">The message could not be read, as opposed to a valid one whose retries ran out.</param>
    public void PoisonMessage(bool malformed, string reason)
    {
        _poison.Add(1, new TagList { { Attributes.PoisonReason, malformed ? "malformed" : "retries_exhausted" } });
        _logger.PoisonMessage(malformed ? "malformed" : "retries exhausted", reason);
    }

    /// <param name="state">"completed" or "failed".</param>
    public void JobFinished(string state) => _jobsFinished.Add(1, new TagList { { Attributes.JobState, state } });

    public void Dispose()
    {
        _applicationInsights?.Dispose();
        _meter.Dispose();
    }

    private static TagList TranslationTags(string model, string source, string outcome) => new()
    {
        { Attributes.Model, model },
        { Attributes.Source, source },
        { Attributes.Outcome, outcome },
    };

    private Histogram<double> Histogram(string name, string unit, string description, double[] buckets) =>
        _meter.CreateHistogram(name, unit, description, tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = buckets });
}
