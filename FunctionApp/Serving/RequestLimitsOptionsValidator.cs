using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using ServerlessInference.Engine;

namespace ServerlessInference.Serving;

/// <summary>Fails start-up while a setting that moved from the "Translation" section to the engine's is still set
/// under its old name: the binder ignores keys it has no property for, so the engine would silently run with its
/// default instead.</summary>
public sealed class RequestLimitsOptionsValidator(IConfiguration configuration) : IValidateOptions<RequestLimitsOptions>
{
    private static readonly string[] MovedToEngine =
    [
        nameof(EngineOptions.MaxBeams),
        nameof(EngineOptions.IntraOpThreads),
        nameof(EngineOptions.SplitOutputProjection),
    ];

    public ValidateOptionsResult Validate(string? name, RequestLimitsOptions options)
    {
        var section = configuration.GetSection(RequestLimitsOptions.Section);
        var errors = MovedToEngine.Where(key => section[key] is not null)
            .Select(key => $"{section.Key}__{key} is now {EngineOptions.Section}__{key}; rename the setting.")
            .ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
