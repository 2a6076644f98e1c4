using Microsoft.ApplicationInsights.Extensibility;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ServerlessInference.Telemetry;

namespace ServerlessInference.Tests.Telemetry;

/// <summary>The worker's Application Insights registration (AddInferenceTelemetry) on its own.</summary>
public sealed class TelemetryRegistrationTests
{
    // The Bicep component disables local authentication, so the worker's telemetry reaches it only if the SDK picks
    // up APPLICATIONINSIGHTS_AUTHENTICATION_STRING (ConfigureFunctionsApplicationInsights turns it into a
    // ManagedIdentityCredential). Its credential is not observable, its validation of the client id is: a malformed
    // one failing shows the setting is read by this registration.
    [Fact]
    public async Task WorkerTelemetryReadsTheEntraAuthenticationString()
    {
        await using (var provider = BuildTelemetry("Authorization=AAD;ClientId=not-a-guid"))
        {
            var error = Assert.Throws<FormatException>(() => provider.GetRequiredService<TelemetryConfiguration>());
            Assert.Contains("ClientId", error.Message);
        }

        await using (var provider = BuildTelemetry("Authorization=AAD;ClientId=00000000-0000-0000-0000-000000000001"))
        {
            Assert.NotNull(provider.GetRequiredService<TelemetryConfiguration>());
        }
    }

    private static ServiceProvider BuildTelemetry(string authenticationString)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] = authenticationString })
            .Build();
        var services = new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(configuration);
        services.AddInferenceTelemetry();
        return services.BuildServiceProvider();
    }
}
