using System.Diagnostics;

namespace ServerlessInference.Engine.Sessions;

/// <summary>
/// Adds up the time spent inside its scopes, as CTranslate2's ScopedProfiler does: <c>using (timer.Measure())</c>
/// around each ONNX Runtime Run. Scopes may close on several threads at once.
/// </summary>
internal sealed class ScopedTimer
{
    private long _ticks;

    public TimeSpan Elapsed => TimeSpan.FromSeconds(Interlocked.Read(ref _ticks) / (double)Stopwatch.Frequency);

    public Scope Measure() => new(this, Stopwatch.GetTimestamp());

    /// <summary>One measured span; disposing it adds the span to its timer.</summary>
    public readonly struct Scope(ScopedTimer timer, long start) : IDisposable
    {
        public void Dispose() => Interlocked.Add(ref timer._ticks, Stopwatch.GetTimestamp() - start);
    }
}
