using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Telemetry;

namespace ServerlessInference.ModelHosting;

public static class ModelHostingRegistration
{
    /// <summary>The model catalog, the blob store with its local cache, the engine factory, the process-wide
    /// <see cref="ModelHost"/> and the instance's <see cref="ModelReadiness"/> ("Models", "Engine" and "Serving"
    /// sections). An <see cref="IEngineFactory"/> registered earlier (a test's) wins over the Marian engine.</summary>
    public static IServiceCollection AddModelHosting(this IServiceCollection services)
    {
        services.AddOptions<ModelsOptions>()
            .BindConfiguration(ModelsOptions.Section)
            .PostConfigure(o =>
            {
                if (string.IsNullOrWhiteSpace(o.CacheDirectory))
                {
                    o.CacheDirectory = ModelsOptions.DefaultCacheDirectory;
                }

                if (o.Catalog.Count == 0)
                {
                    o.Catalog.Add(new ModelCatalogEntry
                    {
                        Name = ModelsOptions.DefaultModelName,
                        Prefix = ModelsOptions.DefaultModelName + "/",
                    });
                }
            })
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ModelsOptions>, ModelsOptionsValidator>();
        services.AddOptions<EngineOptions>()
            .BindConfiguration(EngineOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<ServingOptions>()
            .BindConfiguration(ServingOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<InferenceTelemetry>();
        services.TryAddSingleton<IEngineFactory>(sp =>
        {
            var engine = sp.GetRequiredService<IOptions<EngineOptions>>().Value;
            var serving = sp.GetRequiredService<IOptions<ServingOptions>>().Value;
            return new EngineFactory(engine with
            {
                IntraOpThreads = serving.IntraOpThreads(engine.IntraOpThreads, Environment.ProcessorCount),
            });
        });
        services.AddSingleton(sp =>
        {
            var serving = sp.GetRequiredService<IOptions<ServingOptions>>().Value;
            return new ServingBacklog(serving.MaxPendingSentences, serving.MaxConcurrentBatches);
        });
        services.AddSingleton<ModelCatalog>();
        services.AddSingleton<ModelStore>();
        services.AddSingleton<ModelHost>();
        services.AddSingleton<ModelReadiness>();
        return services;
    }
}
