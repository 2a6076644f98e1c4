using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Storage;

namespace ServerlessInference.ModelHosting;

/// <summary>Cross-field checks data annotations cannot express; run at start-up so a bad deployment fails
/// immediately instead of on the first request.</summary>
public sealed class ModelsOptionsValidator(IConfiguration configuration) : IValidateOptions<ModelsOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelsOptions options)
    {
        var errors = new List<string>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Catalog.Count; i++)
        {
            var entry = options.Catalog[i];
            if (!Regex.IsMatch(entry.Name ?? "", StorageNames.ModelNamePattern))
            {
                errors.Add($"Models:Catalog:{i}:Name '{entry.Name}' must be letters, digits, '.', '_' or '-'.");
            }
            else if (!names.Add(entry.Name!))
            {
                errors.Add($"Models:Catalog:{i}:Name '{entry.Name}' appears twice.");
            }

            if (!string.IsNullOrEmpty(entry.TargetLanguage) && !TargetLanguageCode.IsValid(entry.TargetLanguage))
            {
                errors.Add($"Models:Catalog:{i}:TargetLanguage '{entry.TargetLanguage}' {TargetLanguageCode.Rule}");
            }

            if (!string.IsNullOrWhiteSpace(entry.Languages) && !ModelLanguages.TryParse(entry.Languages, out _))
            {
                errors.Add($"Models:Catalog:{i}:Languages '{entry.Languages}' {ModelLanguages.Rule}");
            }

            if (string.IsNullOrWhiteSpace(entry.Prefix) || entry.Prefix.StartsWith('/') || entry.Prefix.Contains(".."))
            {
                errors.Add($"Models:Catalog:{i}:Prefix '{entry.Prefix}' must be a relative blob prefix such as 'my-model/'.");
            }

            if (!ModelDtype.IsKnown(entry.Dtype))
            {
                errors.Add($"Models:Catalog:{i}:Dtype '{entry.Dtype}' must be one of {string.Join(", ", ModelDtype.Names)}.");
            }
        }
        if (!names.Contains(options.DefaultModel ?? ""))
        {
            errors.Add($"Models:DefaultModel '{options.DefaultModel}' is not in Models:Catalog.");
        }

        if (!string.IsNullOrWhiteSpace(options.Connection) && !StorageClientFactory.IsConfigured(configuration, options.Connection))
        {
            errors.Add($"Models:Connection names '{options.Connection}', but neither '{options.Connection}' nor " +
                       $"'{options.Connection}__blobServiceUri' / '{options.Connection}__accountName' is set.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
