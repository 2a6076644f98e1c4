using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Tokenization;

namespace ServerlessInference.Tests.Support;

public static class TestEngine
{
    /// <summary>The real engine, so end-to-end tests translate with the shipped model; its settings are the
    /// configuration's "Engine" section, as in production, on one thread.</summary>
    public static IEngineFactory CreateFactory(IConfiguration? configuration = null)
    {
        var configured = configuration?.GetSection(EngineOptions.Section).Get<EngineOptions>() ?? EngineOptions.Default;
        return new EngineFactory(configured with { IntraOpThreads = 1 });
    }
}

/// <summary>Wraps any factory to count loads and see which translators were disposed (and when).</summary>
public sealed class TrackingEngineFactory(IEngineFactory inner) : IEngineFactory
{
    private int _loads;

    public int Loads => _loads;

    /// <summary>Engine runs with these settings throw <see cref="FailureMessage"/>, as a run failing inside ONNX
    /// Runtime would.</summary>
    public Func<GenerationSettings, bool>? FailWhen { get; set; }

    public const string FailureMessage = "The engine failed this run.";

    /// <summary>What a failing run throws; an <see cref="InvalidOperationException"/> unless set.</summary>
    public Func<Exception>? FailWith { get; set; }
    public ConcurrentQueue<string> Disposed { get; } = new();

    public IReadOnlyList<string> SelectFiles(IReadOnlyCollection<string> available, string? dtype = null) =>
        inner.SelectFiles(available, dtype);

    public ITranslationEngine Load(string modelName, string modelDirectory, string? dtype = null)
    {
        Interlocked.Increment(ref _loads);
        return new Tracked(inner.Load(modelName, modelDirectory, dtype), this);
    }

    /// <summary>The inner factory's load (the real one opens its encoder while the decoder downloads), tracked.</summary>
    public IEngineLoad BeginLoad(string modelName, string? dtype = null) => new TrackedLoad(inner.BeginLoad(modelName, dtype), this);

    private sealed class TrackedLoad(IEngineLoad inner, TrackingEngineFactory owner) : IEngineLoad
    {
        public IReadOnlyList<string> SelectFiles(IReadOnlyCollection<string> available) => inner.SelectFiles(available);

        public Task? FileReady(string relativePath, string path) => inner.FileReady(relativePath, path);

        public async Task<ITranslationEngine> CompleteAsync(string modelDirectory, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref owner._loads);
            return new Tracked(await inner.CompleteAsync(modelDirectory, cancellationToken), owner);
        }

        public void Dispose() => inner.Dispose();
    }

    private sealed class Tracked(ITranslationEngine inner, TrackingEngineFactory owner) : ITranslationEngine
    {
        private int _disposed;

        public string ModelName => inner.ModelName;

        public ModelLimits Limits => inner.Limits;

        public MarianTokenizer Tokenizer => inner.Tokenizer;

        public IReadOnlyList<string> IgnoredGenerationSettings => inner.IgnoredGenerationSettings;

        public int MaxInputTokens => inner.MaxInputTokens;

        public GenerationSettings Resolve(TranslationRequest request)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            return inner.Resolve(request);
        }

        public BatchOutput Generate(IReadOnlyList<int[]> sources, GenerationSettings settings, CancellationToken cancellationToken)
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                throw new ObjectDisposedException(ModelName);
            }

            if (owner.FailWhen?.Invoke(settings) == true)
            {
                throw owner.FailWith?.Invoke() ?? new InvalidOperationException(FailureMessage);
            }

            return inner.Generate(sources, settings, cancellationToken);
        }

        /// <summary>The inner engine's continuous decode; none when a failure is asked for, so that the scheduler runs the
        /// batch through <see cref="Generate"/>, which fails it.</summary>
        public IContinuousDecode? StartContinuous(GenerationSettings settings, CancellationToken cancellationToken) =>
            Volatile.Read(ref _disposed) != 0 || owner.FailWhen?.Invoke(settings) == true
                ? null
                : inner.StartContinuous(settings, cancellationToken);

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
