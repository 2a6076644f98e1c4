using System.Collections.Concurrent;
using Microsoft.ApplicationInsights.Channel;
using Microsoft.ApplicationInsights.DataContracts;

namespace ServerlessInference.Tests.Support;

/// <summary>Keeps every item a real TelemetryClient sends.</summary>
public sealed class RecordingTelemetryChannel : ITelemetryChannel
{
    private readonly ConcurrentQueue<ITelemetry> _items = new();

    public bool? DeveloperMode { get; set; }
    public string EndpointAddress { get; set; } = "";

    public IReadOnlyList<ITelemetry> Items => _items.ToArray();

    public IReadOnlyList<MetricTelemetry> Metrics(string name) =>
        _items.OfType<MetricTelemetry>().Where(m => m.Name == name).ToList();

    public void Send(ITelemetry item) => _items.Enqueue(item);

    public void Flush() { }

    public void Dispose() { }
}
