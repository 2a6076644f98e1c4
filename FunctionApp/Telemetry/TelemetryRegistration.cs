using System.Reflection;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace ServerlessInference.Telemetry;

public static class TelemetryRegistration
{
    public const string ApplicationInsightsLoggerProvider =
        "Microsoft.Extensions.Logging.ApplicationInsights.ApplicationInsightsLoggerProvider";

    /// <summary>Where telemetry goes in a deployment: Application Insights (<see cref="AddInferenceTelemetry"/>) and,
    /// when enabled, the Prometheus scrape endpoint (<see cref="AddPrometheusEndpoint"/>).</summary>
    public static IServiceCollection AddTelemetry(this IServiceCollection services, IConfiguration configuration) =>
        services.AddInferenceTelemetry().AddPrometheusEndpoint(configuration);

    /// <summary>The app's own meter and events (<see cref="InferenceTelemetry"/>), which every feature reports to, and
    /// the "Monitoring" section.</summary>
    public static IServiceCollection AddInferenceMetrics(this IServiceCollection services)
    {
        services.AddOptions<MonitoringOptions>()
            .BindConfiguration(MonitoringOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton<InferenceTelemetry>();
        return services;
    }

    /// <summary>Application Insights for the isolated worker. Works without APPLICATIONINSIGHTS_CONNECTION_STRING
    /// (local runs): telemetry is then simply not sent.</summary>
    public static IServiceCollection AddInferenceTelemetry(this IServiceCollection services)
    {
        services.AddApplicationInsightsTelemetryWorkerService().ConfigureFunctionsApplicationInsights();
        // The Application Insights provider adds a rule keeping only Warning and above; our structured Information
        // logs (downloads, loads, translations, chunks) are wanted, so drop it as the Functions docs advise.
        services.Configure<LoggerFilterOptions>(options =>
        {
            var defaultRule = options.Rules.FirstOrDefault(rule => rule.ProviderName == ApplicationInsightsLoggerProvider);
            if (defaultRule is not null)
            {
                options.Rules.Remove(defaultRule);
            }
        });
        return services;
    }

    /// <summary>Prometheus' <c>target_info</c> and any other OpenTelemetry backend tell instances and releases apart by
    /// these; without them every instance reports as <c>unknown_service:dotnet</c>.</summary>
    public const string DefaultServiceName = "serverless-inference";

    /// <summary>The standard OTEL_SERVICE_NAME when an operator sets one, else <see cref="DefaultServiceName"/>.</summary>
    public static string ServiceName() =>
        Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") is { Length: > 0 } name ? name : DefaultServiceName;

    /// <summary>The app's informational version, with the build's source revision shortened as git does (a full
    /// 40-digit hash would look like a job id to anything scanning series for identifiers).</summary>
    public static string ServiceVersion { get; } = ShortVersion(
        typeof(TelemetryRegistration).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(TelemetryRegistration).Assembly.GetName().Version?.ToString() ?? "unknown");

    internal static string ShortVersion(string informational)
    {
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 || informational.Length - plus - 1 <= 12 ? informational : informational[..(plus + 13)];
    }

    /// <summary>Which instance: App Service's WEBSITE_INSTANCE_ID in Azure, the pod name (HOSTNAME) in Kubernetes,
    /// else the machine name; the process id tells apart two workers on one machine.</summary>
    public static string InstanceId()
    {
        var host = Environment.GetEnvironmentVariable("WEBSITE_INSTANCE_ID") is { Length: > 0 } azure ? azure
            : Environment.GetEnvironmentVariable("HOSTNAME") is { Length: > 0 } pod ? pod
            : Environment.MachineName;
        return $"{host}/{Environment.ProcessId}";
    }

    /// <summary>The Prometheus scrape endpoint over the app's meter and the .NET runtime's, when
    /// <see cref="MonitoringOptions.PrometheusEnabled"/> is set. Read at registration because it decides what is
    /// registered; the endpoint starts with the <see cref="MeterProvider"/> (the host resolves it at start-up).</summary>
    public static IServiceCollection AddPrometheusEndpoint(this IServiceCollection services, IConfiguration configuration)
    {
        var monitoring = configuration.GetSection(MonitoringOptions.Section).Get<MonitoringOptions>() ?? new MonitoringOptions();
        if (!monitoring.PrometheusEnabled)
        {
            return services;
        }

        if (monitoring.PrometheusPort is < 1 or > 65535)
        {
            throw new InvalidOperationException(
                $"Monitoring:PrometheusPort is {monitoring.PrometheusPort}; it must be a port number (1-65535).");
        }

        services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService(ServiceName(), serviceVersion: ServiceVersion,
                serviceInstanceId: InstanceId())).WithMetrics(metrics => metrics
            .AddMeter(InferenceTelemetry.MeterName)
            .AddRuntimeInstrumentation()
            // Gauges whose names end in _count, which Prometheus reserves for histograms and summaries (promtool's
            // lint rejects the scrape); they say little about serving anyway.
            .AddView("dotnet.assembly.count", MetricStreamConfiguration.Drop)
            .AddView("dotnet.process.cpu.count", MetricStreamConfiguration.Drop)
            .AddView("dotnet.timer.count", MetricStreamConfiguration.Drop)
            .AddPrometheusHttpListener(options =>
            {
                options.Port = monitoring.PrometheusPort;
                // Each scrape sees the current values; the default cache would serve a rescrape within 300 ms stale.
                options.ScrapeResponseCacheDurationMilliseconds = 0;
                // Every interface, so Prometheus can reach it from outside the container; the default binds loopback.
                options.ConfigureHttpListener = static (o, listener) =>
                {
                    listener.Prefixes.Clear();
                    listener.Prefixes.Add($"http://+:{o.Port}{o.ScrapeEndpointPath}/");
                };
            }));
        return services;
    }
}
