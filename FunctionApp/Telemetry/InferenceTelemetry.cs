using Microsoft.ApplicationInsights;
using Microsoft.ApplicationInsights.DataContracts;
using Microsoft.Extensions.Logging;

namespace ServerlessInference.Telemetry;

/// <summary>Custom metrics (one <see cref="MetricTelemetry"/> per observation, so dashboards can aggregate by any
/// dimension) plus a structured log line for each event.</summary>
public sealed class InferenceTelemetry(TelemetryClient client, ILogger<InferenceTelemetry> logger)
{
    public static class Metrics
    {
        public const string ModelDownloadBytes = "ModelDownloadBytes";
        public const string ModelDownloadDurationMs = "ModelDownloadDurationMs";
        public const string ModelCacheHit = "ModelCacheHit";
        public const string SessionCreationMs = "SessionCreationMs";
        public const string TranslateLatencyMs = "TranslateLatencyMs";
        public const string InputTokens = "TranslateInputTokens";
        public const string OutputTokens = "TranslateOutputTokens";
        public const string BatchSize = "TranslateBatchSize";
        public const string JobChunkDurationMs = "JobChunkDurationMs";
        public const string Failures = "Failures";
    }

    public static class FailureKinds
    {
        public const string Storage = "storage";
        public const string ModelMissing = "model-missing";
        public const string Integrity = "integrity";
        public const string ModelFormat = "model-format";
        public const string InvalidInput = "invalid-input";
        public const string JobChunk = "job-chunk";
        public const string PoisonMessage = "poison-message";
        public const string Unexpected = "unexpected";
    }

    public void ModelDownloaded(string model, long bytes, int files, TimeSpan duration)
    {
        var dims = Dims(("Model", model));
        Track(Metrics.ModelDownloadBytes, bytes, dims);
        Track(Metrics.ModelDownloadDurationMs, duration.TotalMilliseconds, dims);
        logger.LogInformation("Downloaded model {Model}: {Files} files, {Bytes} bytes in {DurationMs:F0} ms",
            model, files, bytes, duration.TotalMilliseconds);
    }

    public void ModelCacheHit(string model, string directory)
    {
        Track(Metrics.ModelCacheHit, 1, Dims(("Model", model)));
        logger.LogInformation("Model {Model} found in local cache {Directory}", model, directory);
    }

    public void SessionCreated(string model, TimeSpan duration)
    {
        Track(Metrics.SessionCreationMs, duration.TotalMilliseconds, Dims(("Model", model)));
        logger.LogInformation("Loaded model {Model} in {DurationMs:F0} ms", model, duration.TotalMilliseconds);
    }

    public void Translated(string model, string source, int batchSize, int inputTokens, int outputTokens, TimeSpan latency)
    {
        var dims = Dims(("Model", model), ("Source", source));
        Track(Metrics.TranslateLatencyMs, latency.TotalMilliseconds, dims);
        Track(Metrics.BatchSize, batchSize, dims);
        Track(Metrics.InputTokens, inputTokens, dims);
        Track(Metrics.OutputTokens, outputTokens, dims);
        logger.LogInformation(
            "Translated {BatchSize} texts with {Model} ({Source}): {InputTokens} -> {OutputTokens} tokens in {LatencyMs:F0} ms",
            batchSize, model, source, inputTokens, outputTokens, latency.TotalMilliseconds);
    }

    public void JobChunkProcessed(string jobId, int chunk, int items, TimeSpan duration, bool succeeded)
    {
        Track(Metrics.JobChunkDurationMs, duration.TotalMilliseconds,
            Dims(("JobId", jobId), ("Chunk", chunk.ToString()), ("Succeeded", succeeded ? "true" : "false")));
        logger.LogInformation("Job {JobId} chunk {Chunk}: {Items} items, succeeded {Succeeded}, {DurationMs:F0} ms",
            jobId, chunk, items, succeeded, duration.TotalMilliseconds);
    }

    public void Failure(string kind, string? model, string reason)
    {
        Track(Metrics.Failures, 1, Dims(("Kind", kind), ("Model", model ?? "")));
        logger.LogWarning("Failure {FailureKind} for model {Model}: {Reason}", kind, model, reason);
    }

    private void Track(string name, double value, Dictionary<string, string> dimensions)
    {
        var metric = new MetricTelemetry { Name = name, Sum = value, Count = 1 };
        foreach (var (key, dimension) in dimensions)
        {
            metric.Properties[key] = dimension;
        }

        client.TrackMetric(metric);
    }

    private static Dictionary<string, string> Dims(params (string Key, string Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value);
}
