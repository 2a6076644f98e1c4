using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ServerlessInference.Compat;

public static class CompatRegistration
{
    /// <summary>The LibreTranslate- and DeepL-compatible APIs: their keys ("CompatApi" section), the language
    /// routing over the model catalog, and their translator.</summary>
    public static IServiceCollection AddCompatApis(this IServiceCollection services)
    {
        services.AddOptions<CompatApiOptions>()
            .BindConfiguration(CompatApiOptions.Section)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<CompatApiOptions>, CompatApiOptionsValidator>();
        services.AddSingleton<CompatKeys>();
        services.AddSingleton<LanguageRouter>();
        services.AddSingleton<CompatTranslator>();
        return services;
    }
}
