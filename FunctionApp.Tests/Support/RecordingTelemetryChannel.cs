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

    /// <summary>Pre-aggregated metric items of one instrument: one per dimension combination and flush.</summary>
    public IReadOnlyList<MetricTelemetry> Metrics(string name) =>
        _items.OfType<MetricTelemetry>().Where(m => m.Name == name).ToList();

    /// <summary>Measurements of <paramref name="name"/> received (summed over items), optionally of one dimension value.</summary>
    public int Count(string name, string? dimension = null, string? value = null) =>
        Matching(name, dimension, value).Sum(m => m.Count ?? 0);

    /// <summary>Sum of the measured values of <paramref name="name"/>, optionally of one dimension value.</summary>
    public double Sum(string name, string? dimension = null, string? value = null) =>
        Matching(name, dimension, value).Sum(m => m.Sum);

    private IEnumerable<MetricTelemetry> Matching(string name, string? dimension, string? value) =>
        Metrics(name).Where(m => dimension is null || (m.Properties.TryGetValue(dimension, out var v) && v == value));

    public void Send(ITelemetry item) => _items.Enqueue(item);

    public void Flush() { }

    public void Dispose() { }
}
