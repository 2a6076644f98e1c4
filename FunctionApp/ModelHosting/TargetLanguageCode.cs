namespace ServerlessInference.ModelHosting;

/// <summary>The form of a target-language code: what sits between &gt;&gt; and &lt;&lt; in an opus-mt vocab token.</summary>
public static class TargetLanguageCode
{
    public const int MaxLength = 64;

    public const string Rule = "must be a target-language code such as 'cmn_Hans': ASCII letters, digits and '_', " +
                               "without the >> << around it.";

    public static bool IsValid(string code) =>
        code.Length is > 0 and <= MaxLength && code.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
