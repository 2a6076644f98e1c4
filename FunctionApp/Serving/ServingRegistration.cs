using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ServerlessInference.Serving;

public static class ServingRegistration
{
    /// <summary>The translation service the HTTP API and batch jobs share (and its markup-aware front for HTML), with
    /// the per-request limits ("Translation" section).</summary>
    public static IServiceCollection AddServing(this IServiceCollection services)
    {
        services.AddOptions<RequestLimitsOptions>()
            .BindConfiguration(RequestLimitsOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RequestLimitsOptions>, RequestLimitsOptionsValidator>();
        services.AddSingleton<TranslatedCharacters>();
        services.AddSingleton<TranslationService>();
        services.AddSingleton<Markup.MarkupTranslationService>();
        return services;
    }
}
