namespace ServerlessInference.Serving;

/// <summary>Source characters this process has translated since it started, through every API and batch jobs
/// alike: what DeepL's <c>/v2/usage</c> reports. Per instance and lost on restart; the metrics
/// (<see cref="Telemetry.InferenceTelemetry"/>) are where usage across instances is added up.</summary>
public sealed class TranslatedCharacters
{
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public void Add(IReadOnlyList<string> texts) => Interlocked.Add(ref _count, texts.Sum(t => (long)t.Length));
}
