using Microsoft.ApplicationInsights;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServerlessInference.Engine;
using ServerlessInference.Functions;
using ServerlessInference.Telemetry;

namespace ServerlessInference.Tests;

/// <summary>Program.cs's registrations without a host: Application Insights with no connection string (local runs)
/// and the Marian engine, resolving every function class as the worker would.</summary>
public sealed class ProductionWiringTests
{
    [Fact]
    public async Task EveryFunctionClassResolvesWithApplicationInsightsAndTheMarianEngine()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true" })
            .Build();
        var services = new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(configuration);
        services.AddInferenceTelemetry();
        services.AddServerlessInference();
        // Async disposal: Functions' telemetry module only implements IAsyncDisposable.
        await using var provider = services.BuildServiceProvider();

        Assert.NotNull(provider.GetRequiredService<TelemetryClient>());
        Assert.DoesNotContain(provider.GetRequiredService<IOptions<LoggerFilterOptions>>().Value.Rules,
            rule => rule.ProviderName == TelemetryRegistration.ApplicationInsightsLoggerProvider); // Information logs reach AI
        Assert.IsType<EngineFactory>(provider.GetRequiredService<IEngineFactory>());
        Assert.NotNull(ActivatorUtilities.CreateInstance<TranslateFunction>(provider));
        Assert.NotNull(ActivatorUtilities.CreateInstance<HealthFunction>(provider));
        Assert.NotNull(ActivatorUtilities.CreateInstance<ReadyFunction>(provider));
        Assert.NotNull(ActivatorUtilities.CreateInstance<JobFunctions>(provider));
    }
}
