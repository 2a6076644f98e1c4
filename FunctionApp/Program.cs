using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using ServerlessInference;
using ServerlessInference.Functions;
using ServerlessInference.Telemetry;

var builder = FunctionsApplication.CreateBuilder(args);
// ASP.NET Core integration: HTTP functions take HttpRequest and return IActionResult.
builder.ConfigureFunctionsWebApplication();
builder.UseWhen<ProblemDetailsMiddleware>(ProblemDetailsMiddleware.IsHttpTrigger);
builder.Services.AddInferenceTelemetry();
builder.Services.AddServerlessInference();
builder.Build().Run();
