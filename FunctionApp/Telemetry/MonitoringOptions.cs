using System.ComponentModel.DataAnnotations;

namespace ServerlessInference.Telemetry;

/// <summary>Where operators read the app's metrics besides Application Insights ("Monitoring" section).</summary>
public sealed class MonitoringOptions
{
    public const string Section = "Monitoring";

    /// <summary>Serve the metrics in Prometheus' text format at <c>http://*:PrometheusPort/metrics</c>. Off by default:
    /// in Azure nothing scrapes the worker, and the port must not be exposed there.</summary>
    public bool PrometheusEnabled { get; set; }

    /// <summary>Port of the scrape endpoint, apart from the app's HTTP port so it is never routed to callers.</summary>
    [Range(1, 65535)]
    public int PrometheusPort { get; set; } = 9464;
}
