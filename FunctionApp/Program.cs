using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ServerlessInference;
using ServerlessInference.Functions;
using ServerlessInference.Telemetry;

var builder = FunctionsApplication.CreateBuilder(args);
// ASP.NET Core integration: HTTP functions take HttpRequest and return IActionResult.
builder.ConfigureFunctionsWebApplication();
builder.UseMiddleware<InvocationLogScope>();
builder.UseWhen<ProblemDetailsMiddleware>(ProblemDetailsMiddleware.IsHttpTrigger);
// Lines written inside an Activity (the worker's invocation, outgoing storage calls) carry its trace and span ids too.
builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
builder.Services
    .AddTelemetry(builder.Configuration)   // Application Insights, and Prometheus when enabled
    .AddServerlessInference();             // storage, model hosting, serving, jobs, the HTTP API
builder.Build().Run();
