using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ServerlessInference;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();

// Works without APPLICATIONINSIGHTS_CONNECTION_STRING (local runs): telemetry is then simply not sent.
builder.Services
    .AddApplicationInsightsTelemetryWorkerService()
    .ConfigureFunctionsApplicationInsights();
// The Application Insights provider adds a rule that keeps only Warning and above; our structured
// Information logs (downloads, loads, translations) are wanted, so drop that rule as the Functions docs advise.
builder.Logging.Services.Configure<LoggerFilterOptions>(options =>
{
    var defaultRule = options.Rules.FirstOrDefault(rule =>
        rule.ProviderName == "Microsoft.Extensions.Logging.ApplicationInsights.ApplicationInsightsLoggerProvider");
    if (defaultRule is not null) options.Rules.Remove(defaultRule);
});

builder.Services.AddServerlessInference(builder.Configuration);

builder.Build().Run();
