using System.Collections.Concurrent;
using ServerlessInference.Translation;

namespace ServerlessInference.Tests.Support;

public static class TestEngine
{
    /// <summary>The real engine, so end-to-end tests translate with the shipped model.</summary>
    public static ITranslatorFactory CreateFactory() => new MarianTranslatorFactory(new MarianTranslatorOptions { IntraOpThreads = 1 });
}

/// <summary>Wraps any factory to count loads and see which translators were disposed (and when).</summary>
public sealed class TrackingTranslatorFactory(ITranslatorFactory inner) : ITranslatorFactory
{
    private int _loads;

    public int Loads => _loads;

    /// <summary>Engine runs with these settings throw <see cref="FailureMessage"/>, as a run failing inside ONNX
    /// Runtime would.</summary>
    public Func<GenerationSettings, bool>? FailWhen { get; set; }

    public const string FailureMessage = "The engine failed this run.";
    public ConcurrentQueue<string> Disposed { get; } = new();

    public IReadOnlyList<string> SelectFiles(IReadOnlyCollection<string> available, string? dtype = null) =>
        inner.SelectFiles(available, dtype);

    public ITranslator Load(string modelName, string modelDirectory, string? dtype = null)
    {
        Interlocked.Increment(ref _loads);
        return new Tracked(inner.Load(modelName, modelDirectory, dtype), this);
    }

    /// <summary>The inner factory's load (the real one opens its encoder while the decoder downloads), tracked.</summary>
    public ITranslatorLoad BeginLoad(string modelName, string? dtype = null) => new TrackedLoad(inner.BeginLoad(modelName, dtype), this);

    private sealed class TrackedLoad(ITranslatorLoad inner, TrackingTranslatorFactory owner) : ITranslatorLoad
    {
        public IReadOnlyList<string> SelectFiles(IReadOnlyCollection<string> available) => inner.SelectFiles(available);

        public Task? FileReady(string relativePath, string path) => inner.FileReady(relativePath, path);

        public async Task<ITranslator> CompleteAsync(string modelDirectory, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref owner._loads);
            return new Tracked(await inner.CompleteAsync(modelDirectory, cancellationToken), owner);
        }

        public void Dispose() => inner.Dispose();
    }

    private sealed class Tracked(ITranslator inner, TrackingTranslatorFactory owner) : ITranslator
    {
        private int _disposed;

        public string ModelName => inner.ModelName;

        public GenerationLimits Limits => inner.Limits;

        public Task<TranslationBatchResult> TranslateAsync(IReadOnlyList<string> texts, TranslationOptions options,
            CancellationToken cancellationToken = default)
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                throw new ObjectDisposedException(ModelName);
            }

            return inner.TranslateAsync(texts, options, cancellationToken);
        }

        public PlannedTranslation Plan(IReadOnlyList<string> texts, TranslationOptions options)
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                throw new ObjectDisposedException(ModelName);
            }

            return inner.Plan(texts, options);
        }

        public BatchOutput Generate(IReadOnlyList<int[]> sources, GenerationSettings settings, CancellationToken cancellationToken)
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                throw new ObjectDisposedException(ModelName);
            }

            if (owner.FailWhen?.Invoke(settings) == true)
            {
                throw new InvalidOperationException(FailureMessage);
            }

            return inner.Generate(sources, settings, cancellationToken);
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                throw new InvalidOperationException($"{ModelName} disposed twice.");
            }

            inner.Dispose();
            owner.Disposed.Enqueue(ModelName);
        }
    }
}
