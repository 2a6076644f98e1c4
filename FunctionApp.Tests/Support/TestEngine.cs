using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using ServerlessInference.Translation;

namespace ServerlessInference.Tests.Support;

public static class TestEngine
{
    /// <summary>The factory the end-to-end tests use. TODO(merge): the real MarianTranslatorFactory once on main.</summary>
    public static ITranslatorFactory CreateFactory() => new OnnxCheckingUpperCaseFactory();
}

/// <summary>Stand-in engine until the real one lands: opens a real ONNX Runtime session on the encoder (so a
/// corrupted file fails for real) and "translates" by upper-casing.</summary>
public sealed class OnnxCheckingUpperCaseFactory : ITranslatorFactory
{
    public ITranslator Load(string modelName, string modelDirectory)
    {
        var encoder = Path.Combine(modelDirectory, "onnx", "encoder_model.onnx");
        if (!File.Exists(encoder)) throw new ModelFormatException("onnx/encoder_model.onnx is missing.");
        try
        {
            return new UpperCaseTranslator(modelName, new InferenceSession(encoder));
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelFormatException($"onnx/encoder_model.onnx could not be loaded: {ex.Message}", ex);
        }
    }

    private sealed class UpperCaseTranslator(string modelName, InferenceSession session) : ITranslator
    {
        public string ModelName => modelName;

        public Task<TranslationBatchResult> TranslateAsync(IReadOnlyList<string> texts, TranslationOptions options,
            CancellationToken cancellationToken = default)
        {
            var stopwatch = Stopwatch.StartNew();
            var translations = texts.Select(t =>
            {
                var words = t.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
                return new Translation.Translation(t.ToUpperInvariant(), words + 1, words + 1, []);
            }).ToList();
            return Task.FromResult(new TranslationBatchResult(translations, stopwatch.Elapsed, TimeSpan.Zero));
        }

        public void Dispose() => session.Dispose();
    }
}

/// <summary>Wraps any factory to count loads and see which translators were disposed (and when).</summary>
public sealed class TrackingTranslatorFactory(ITranslatorFactory inner) : ITranslatorFactory
{
    private int loads;

    public int Loads => loads;
    public ConcurrentQueue<string> Disposed { get; } = new();

    public ITranslator Load(string modelName, string modelDirectory)
    {
        Interlocked.Increment(ref loads);
        return new Tracked(inner.Load(modelName, modelDirectory), this);
    }

    private sealed class Tracked(ITranslator inner, TrackingTranslatorFactory owner) : ITranslator
    {
        private int disposed;

        public string ModelName => inner.ModelName;

        public Task<TranslationBatchResult> TranslateAsync(IReadOnlyList<string> texts, TranslationOptions options,
            CancellationToken cancellationToken = default)
        {
            if (Volatile.Read(ref disposed) != 0) throw new ObjectDisposedException(ModelName);
            return inner.TranslateAsync(texts, options, cancellationToken);
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) != 0) throw new InvalidOperationException($"{ModelName} disposed twice.");
            inner.Dispose();
            owner.Disposed.Enqueue(ModelName);
        }
    }
}
