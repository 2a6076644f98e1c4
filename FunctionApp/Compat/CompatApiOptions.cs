using Microsoft.Extensions.Options;

namespace ServerlessInference.Compat;

/// <summary>The translation-API-compatible endpoints ("CompatApi" section). Their clients cannot send the
/// Functions host's key, so these routes are anonymous at the host and check a key of their own.</summary>
public sealed class CompatApiOptions
{
    public const string Section = "CompatApi";
    public const int MinKeyLength = 16;
    public const int MaxKeyLength = 256;

    /// <summary>Keys callers may present, separated by ';' (several, so a key can be rotated without downtime).
    /// Empty: the compatible APIs are off and their routes answer 404.</summary>
    public string? Keys { get; set; }

    public IReadOnlyList<string> KeyList() =>
        (Keys ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>Refuses keys short enough to guess, and values that are not a list of keys. Never quotes a key: the
/// message ends up in start-up logs.</summary>
public sealed class CompatApiOptionsValidator : IValidateOptions<CompatApiOptions>
{
    public ValidateOptionsResult Validate(string? name, CompatApiOptions options)
    {
        var errors = new List<string>();
        var keys = options.KeyList();
        for (var i = 0; i < keys.Count; i++)
        {
            var key = keys[i];
            if (key.Length is < CompatApiOptions.MinKeyLength or > CompatApiOptions.MaxKeyLength)
            {
                errors.Add($"CompatApi:Keys: key {i + 1} must be {CompatApiOptions.MinKeyLength} to " +
                           $"{CompatApiOptions.MaxKeyLength} characters long.");
            }
            else if (!key.All(c => c is > ' ' and < '\u007f'))
            {
                errors.Add($"CompatApi:Keys: key {i + 1} must be printable ASCII without spaces (clients send it in a header).");
            }
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
