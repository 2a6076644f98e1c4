using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ServerlessInference.Telemetry;

public static class TelemetryRegistration
{
    public const string ApplicationInsightsLoggerProvider =
        "Microsoft.Extensions.Logging.ApplicationInsights.ApplicationInsightsLoggerProvider";

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
}
