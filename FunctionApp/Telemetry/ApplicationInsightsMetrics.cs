using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.ApplicationInsights;
using Microsoft.ApplicationInsights.Metrics;

namespace ServerlessInference.Telemetry;

/// <summary>
/// Hands every measurement of one <see cref="Meter"/>'s instruments to Application Insights' pre-aggregation
/// (<see cref="TelemetryClient.GetMetric(MetricIdentifier)"/>): one custom metric per instrument, its attributes as
/// dimensions, sent each minute as count/sum/min/max. Application Insights thus sees the same instruments Prometheus
/// scrapes, without a second hand-written path. Observable gauges are left out: they describe one instance at scrape
/// time, which a per-minute aggregate across instances would not.
/// </summary>
internal sealed class ApplicationInsightsMetrics : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly TelemetryClient _client;
    private readonly ConcurrentDictionary<(string Instrument, string Dimensions), Metric> _metrics = new();

    public ApplicationInsightsMetrics(Meter meter, TelemetryClient client)
    {
        _client = client;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter) && !instrument.IsObservable)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((i, value, tags, _) => Track(i, value, tags));
        _listener.SetMeasurementEventCallback<long>((i, value, tags, _) => Track(i, value, tags));
        _listener.SetMeasurementEventCallback<int>((i, value, tags, _) => Track(i, value, tags));
        _listener.Start();
    }

    private void Track(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var names = new string[tags.Length];
        var values = new string[tags.Length];
        for (int i = 0; i < tags.Length; i++)
        {
            names[i] = tags[i].Key;
            values[i] = Convert.ToString(tags[i].Value, CultureInfo.InvariantCulture) ?? "";
        }

        // Dimension order must be the same for every measurement of one metric.
        Array.Sort(names, values, StringComparer.Ordinal);
        var metric = _metrics.GetOrAdd((instrument.Name, string.Join('|', names)), key =>
            _client.GetMetric(new MetricIdentifier(MetricIdentifier.DefaultMetricNamespace, key.Instrument, names)));
        if (metric.TryGetDataSeries(out var series, createIfNotExists: true, values))
        {
            series.TrackValue(value);
        }
    }

    public void Dispose() => _listener.Dispose();
}
