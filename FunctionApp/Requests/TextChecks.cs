using Microsoft.AspNetCore.Http;
using ServerlessInference.Engine.Tokenization;

namespace ServerlessInference.Requests;

/// <summary>Checks on caller texts shared by /translate and /jobs.</summary>
public static class TextChecks
{
    /// <summary>A text with nothing left to translate once the engine removes control characters is as blank as
    /// an empty one, and is rejected the same way.</summary>
    public static bool IsBlank(string text) => string.IsNullOrWhiteSpace(TextSegmenter.Clean(text));

    /// <summary>413 for more texts, or more characters in all, than one request may send.</summary>
    public static void RejectOverLimits(IReadOnlyList<string> texts, int maxTexts, int maxCharacters)
    {
        if (texts.Count > maxTexts)
        {
            throw new RequestRejectedException(StatusCodes.Status413PayloadTooLarge,
                $"{texts.Count} texts exceed the limit of {maxTexts} per request.");
        }

        var characters = texts.Sum(t => (long)t.Length);
        if (characters > maxCharacters)
        {
            throw new RequestRejectedException(StatusCodes.Status413PayloadTooLarge,
                $"{characters} characters exceed the limit of {maxCharacters} per request.");
        }
    }

    public static void RejectBlank(IReadOnlyList<string> texts)
    {
        for (var i = 0; i < texts.Count; i++)
        {
            if (IsBlank(texts[i]))
            {
                throw JsonRequest.BadRequest(texts.Count == 1 ? "The text is empty." : $"'texts[{i}]' is empty.");
            }
        }
    }
}
