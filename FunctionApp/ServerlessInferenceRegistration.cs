using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ServerlessInference.Compat;
using ServerlessInference.Functions;
using ServerlessInference.Jobs;
using ServerlessInference.ModelHosting;
using ServerlessInference.Serving;
using ServerlessInference.Storage;
using ServerlessInference.Telemetry;

namespace ServerlessInference;

public static class ServerlessInferenceRegistration
{
    /// <summary>Every feature the functions need, composed in one place, except where telemetry is sent (the host's
    /// <see cref="TelemetryRegistration.AddTelemetry"/>, or a test's channel). Shared by Program.cs, the tests and
    /// tools/Translate's load verb, so they all exercise the production wiring. Each feature binds its own section
    /// of the registered <see cref="IConfiguration"/>, so each setting is read in one place (docs/settings.md).</summary>
    public static IServiceCollection AddServerlessInference(this IServiceCollection services) =>
        services
            .AddInferenceMetrics()
            .AddStorage()
            .AddModelHosting()
            .AddServing()
            .AddJobs()
            .AddCompatApis()
            .AddHttpApi();
}
