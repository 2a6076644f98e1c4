namespace ServerlessInference.Compat;

/// <summary>English names for the languages lists. A fixed table rather than CultureInfo: culture data differs
/// between ICU versions and is absent in invariant-globalization containers, and clients show these names.</summary>
public static class LanguageNames
{
    private static readonly Dictionary<string, string> Names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["ar"] = "Arabic",
        ["bg"] = "Bulgarian",
        ["cs"] = "Czech",
        ["da"] = "Danish",
        ["de"] = "German",
        ["el"] = "Greek",
        ["en"] = "English",
        ["en-GB"] = "English (British)",
        ["en-US"] = "English (American)",
        ["es"] = "Spanish",
        ["et"] = "Estonian",
        ["fi"] = "Finnish",
        ["fr"] = "French",
        ["he"] = "Hebrew",
        ["hi"] = "Hindi",
        ["hu"] = "Hungarian",
        ["id"] = "Indonesian",
        ["it"] = "Italian",
        ["ja"] = "Japanese",
        ["ko"] = "Korean",
        ["lt"] = "Lithuanian",
        ["lv"] = "Latvian",
        ["nb"] = "Norwegian (Bokmål)",
        ["nl"] = "Dutch",
        ["pl"] = "Polish",
        ["pt"] = "Portuguese",
        ["pt-BR"] = "Portuguese (Brazilian)",
        ["pt-PT"] = "Portuguese (European)",
        ["ro"] = "Romanian",
        ["ru"] = "Russian",
        ["sk"] = "Slovak",
        ["sl"] = "Slovenian",
        ["sv"] = "Swedish",
        ["th"] = "Thai",
        ["tr"] = "Turkish",
        ["uk"] = "Ukrainian",
        ["vi"] = "Vietnamese",
        ["zh"] = "Chinese",
        ["zh-Hans"] = "Chinese (simplified)",
        ["zh-Hant"] = "Chinese (traditional)",
    };

    /// <summary>The language's English name; the code itself for one the table lacks.</summary>
    public static string Of(string code) => Names.GetValueOrDefault(code, code);
}
