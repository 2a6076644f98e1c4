using ServerlessInference.Engine.Tokenization;

namespace ServerlessInference.Requests;

/// <summary>Checks on caller texts shared by /translate and /jobs.</summary>
public static class TextChecks
{
    /// <summary>A text with nothing left to translate once the engine removes control characters is as blank as
    /// an empty one, and is rejected the same way.</summary>
    public static bool IsBlank(string text) => string.IsNullOrWhiteSpace(TextSegmenter.Clean(text));

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
