using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ServerlessInference.Jobs;
using ServerlessInference.Models;
using ServerlessInference.Options;
using ServerlessInference.Serving;
using ServerlessInference.Storage;
using ServerlessInference.Telemetry;
using ServerlessInference.Translation;

namespace ServerlessInference;

public static class ServiceCollectionExtensions
{
    /// <summary>Everything the functions need except the TelemetryClient, which the host (Program.cs) or a test
    /// supplies. Shared so tests exercise the same wiring as production; a translator factory registered
    /// earlier (a test's) wins over the Marian engine. Every options class binds its own section of the registered
    /// <see cref="IConfiguration"/>, so each setting is read in one place.</summary>
    public static IServiceCollection AddServerlessInference(this IServiceCollection services)
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
                        Prefix = ModelsOptions.DefaultModelName
                        + "/"
                    });
                }
            })
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ModelsOptions>, ModelsOptionsValidator>();
        services.AddOptions<TranslationLimitsOptions>()
            .BindConfiguration(TranslationLimitsOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<TranslationLimitsOptions>, TranslationLimitsOptionsValidator>();
        services.AddOptions<MarianTranslatorOptions>()
            .BindConfiguration(MarianTranslatorOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<StorageClientOptions>()
            .BindConfiguration(StorageClientOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<HttpOptions>()
            .BindConfiguration(HttpOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        // Kestrel lets a body over the app's limit arrive whole, so the app can drain it and its 413 reaches the
        // caller through the host's proxy (JsonRequest).
        services.AddOptions<KestrelServerOptions>().Configure(kestrel =>
            kestrel.Limits.MaxRequestBodySize = HttpOptions.MaxDrainedBodyBytes);
        services.AddOptions<ServingOptions>()
            .BindConfiguration(ServingOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<MonitoringOptions>()
            .BindConfiguration(MonitoringOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<JobsOptions>()
            .BindConfiguration(JobsOptions.Section)
            .ValidateDataAnnotations()
            .Validate<IConfiguration>((_, configuration) => StorageClientFactory.IsConfigured(configuration, JobsOptions.Connection),
                $"Jobs need the '{JobsOptions.Connection}' storage connection.")
            .ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ITranslatorFactory>(sp =>
        {
            var engine = sp.GetRequiredService<IOptions<MarianTranslatorOptions>>().Value;
            var serving = sp.GetRequiredService<IOptions<ServingOptions>>().Value;
            return new MarianTranslatorFactory(engine with
            {
                IntraOpThreads = serving.IntraOpThreads(engine.IntraOpThreads, Environment.ProcessorCount),
            });
        });
        services.AddSingleton<StorageClientFactory>();
        services.AddSingleton<InferenceTelemetry>();
        services.AddSingleton<ModelCatalog>();
        services.AddSingleton<ModelStore>();
        services.AddSingleton(sp =>
        {
            var serving = sp.GetRequiredService<IOptions<ServingOptions>>().Value;
            return new ServingBacklog(serving.MaxPendingSentences, serving.MaxConcurrentBatches);
        });
        services.AddSingleton<ModelHost>();
        services.AddSingleton<TranslationService>();
        services.AddSingleton<JobStore>();
        services.AddSingleton<JobService>();
        return services;
    }
}
