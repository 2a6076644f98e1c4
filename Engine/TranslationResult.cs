namespace ServerlessInference.Engine;

/// <summary>One translated text.</summary>
/// <param name="OutputIds">Generated model ids (without the decoder start token), sentence pieces concatenated.</param>
public sealed record Translation(string Text, int InputTokens, int OutputTokens, IReadOnlyList<int> OutputIds);

/// <summary>Translations in input order, with where the time went.</summary>
public sealed record TranslationResult(IReadOnlyList<Translation> Translations, TimeSpan Elapsed, TimeSpan OnnxRuntime);

/// <summary>Generated ids for each source of one model run, and the time spent inside ONNX Runtime.</summary>
public sealed record BatchOutput(int[][] Ids, TimeSpan OnnxRuntime);
