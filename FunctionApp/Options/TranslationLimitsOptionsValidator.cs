using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using ServerlessInference.Translation;

namespace ServerlessInference.Options;

/// <summary>Fails start-up while a setting that moved from the "Translation" section to the engine's is still set
/// under its old name: the binder ignores keys it has no property for, so the engine would silently run with its
/// default instead.</summary>
public sealed class TranslationLimitsOptionsValidator(IConfiguration configuration) : IValidateOptions<TranslationLimitsOptions>
{
    private static readonly string[] MovedToEngine =
    [
        nameof(MarianTranslatorOptions.MaxBeams),
        nameof(MarianTranslatorOptions.IntraOpThreads),
        nameof(MarianTranslatorOptions.SplitOutputProjection),
    ];

    public ValidateOptionsResult Validate(string? name, TranslationLimitsOptions options)
    {
        var section = configuration.GetSection(TranslationLimitsOptions.Section);
        var errors = MovedToEngine.Where(key => section[key] is not null)
            .Select(key => $"{section.Key}__{key} is now {MarianTranslatorOptions.Section}__{key}; rename the setting.")
            .ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
