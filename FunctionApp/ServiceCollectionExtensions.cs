using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ServerlessInference.Jobs;
using ServerlessInference.Models;
using ServerlessInference.Options;
using ServerlessInference.Storage;
using ServerlessInference.Telemetry;
using ServerlessInference.Translation;

namespace ServerlessInference;

public static class ServiceCollectionExtensions
{
    /// <summary>Everything the functions need except the TelemetryClient, which the host (Program.cs) or a test
    /// supplies. Shared so tests exercise the same wiring as production; a translator factory registered
    /// earlier (a test's) wins over the Marian engine.</summary>
    public static IServiceCollection AddServerlessInference(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ModelsOptions>()
            .Bind(configuration.GetSection(ModelsOptions.Section))
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
            .Bind(configuration.GetSection(TranslationLimitsOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<StorageClientOptions>()
            .Bind(configuration.GetSection(StorageClientOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<HttpOptions>()
            .Bind(configuration.GetSection(HttpOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        // Kestrel enforces the same limit on bodies it receives, so no body gets past one limit and stopped by another.
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<HttpOptions>>((kestrel, http) =>
            kestrel.Limits.MaxRequestBodySize = http.Value.MaxRequestBodyBytes);
        services.AddOptions<JobsOptions>()
            .Bind(configuration.GetSection(JobsOptions.Section))
            .ValidateDataAnnotations()
            .Validate(_ => StorageClientFactory.IsConfigured(configuration, JobsOptions.Connection),
                $"Jobs need the '{JobsOptions.Connection}' storage connection.")
            .ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ITranslatorFactory>(sp =>
        {
            var limits = sp.GetRequiredService<IOptions<TranslationLimitsOptions>>().Value;
            return new MarianTranslatorFactory(new MarianTranslatorOptions
            {
                IntraOpThreads = limits.IntraOpThreads,
                MaxBeams = limits.MaxBeams,
                SplitOutputProjection = limits.SplitOutputProjection,
            });
        });
        services.AddSingleton<StorageClientFactory>();
        services.AddSingleton<InferenceTelemetry>();
        services.AddSingleton<ModelCatalog>();
        services.AddSingleton<ModelStore>();
        services.AddSingleton<ModelHost>();
        services.AddSingleton<TranslationService>();
        services.AddSingleton<JobStore>();
        services.AddSingleton<JobService>();
        return services;
    }
}
