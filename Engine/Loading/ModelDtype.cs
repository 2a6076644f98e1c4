namespace ServerlessInference.Engine.Loading;

/// <summary>
/// A model folder's graph variants, named as transformers.js names them: <c>onnx/encoder_model{suffix}.onnx</c> and
/// <c>onnx/decoder_model_merged{suffix}.onnx</c>, where the suffix follows from the dtype a caller asks for. These are
/// the variants Xenova/* and onnx-community/* opus-mt folders publish: <c>q8</c> is Xenova's <c>_quantized</c>
/// (quantize_dynamic, per-channel int8 weights), <c>int8</c> / <c>uint8</c> onnx-community's quantize_dynamic files,
/// <c>q4</c> / <c>q4f16</c> MatMulNBits (the latter in a float16 graph), <c>bnb4</c> MatMulBnb4 (NF4 / FP4).
/// </summary>
public static class ModelDtype
{
    public const string Default = "fp32";

    private static readonly Dictionary<string, string> Suffixes = new(StringComparer.Ordinal)
    {
        ["fp32"] = "",
        ["fp16"] = "_fp16",
        ["q8"] = "_quantized",
        ["int8"] = "_int8",
        ["uint8"] = "_uint8",
        ["q4"] = "_q4",
        ["q4f16"] = "_q4f16",
        ["bnb4"] = "_bnb4",
    };

    /// <summary>The dtypes a catalog entry or the CLI may name.</summary>
    public static IReadOnlyCollection<string> Names => Suffixes.Keys;

    public static bool IsKnown(string? dtype) => dtype is not null && Suffixes.ContainsKey(dtype);

    /// <summary>The file-name suffix of <paramref name="dtype"/> (null or empty means fp32).</summary>
    /// <exception cref="ArgumentException">Not one of <see cref="Names"/>.</exception>
    public static string Suffix(string? dtype) =>
        string.IsNullOrEmpty(dtype) ? ""
        : Suffixes.TryGetValue(dtype, out var suffix) ? suffix
        : throw new ArgumentException($"dtype '{dtype}' is not one of {string.Join(", ", Names)}.");
}
