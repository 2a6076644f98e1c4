using System.Text.Json;
using ServerlessInference.Engine;
using ServerlessInference.ModelHosting;

namespace ServerlessInference.Requests;

/// <summary>The generation fields shared by /translate and /jobs, read into the one typed request both run. Only
/// their form is checked here (a count is a positive integer, a language code has a code's shape); their ranges
/// depend on the model and are checked once, against the model that serves the request
/// (<see cref="ModelLimits.Check"/>).</summary>
public static class TranslationRequestReader
{
    /// <returns>The model the caller named (null: the default) and the request for <paramref name="texts"/>.</returns>
    public static (string? Model, TranslationRequest Request) Read(JsonElement root, IReadOnlyList<string> texts)
    {
        var model = JsonRequest.OptionalModel(root);
        var request = new TranslationRequest(texts)
        {
            Beams = JsonRequest.OptionalCount(root, "beams"),
            MaxNewTokens = JsonRequest.OptionalCount(root, "maxNewTokens"),
            TargetLanguage = TargetLanguage(root),
        };
        return (model, request);
    }

    /// <summary>The code's form is checked here; whether the model has it, once the model is known.</summary>
    private static string? TargetLanguage(JsonElement root)
    {
        var code = JsonRequest.OptionalString(root, "targetLanguage");
        return code is null || TargetLanguageCode.IsValid(code)
            ? code
            : throw JsonRequest.BadRequest($"'targetLanguage' {TargetLanguageCode.Rule}");
    }
}
