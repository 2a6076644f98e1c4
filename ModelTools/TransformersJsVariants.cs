using Google.Protobuf;
using ServerlessInference.Engine.Onnx;

namespace ServerlessInference.ModelTools;

/// <summary>
/// The graph variants transformers.js' scripts/quantize.py writes for each dtype (through ONNX Runtime's quantizers and
/// onnxconverter-common's float16 conversion), made here from an fp32 graph: the files a Xenova/* or onnx-community/*
/// opus-mt folder holds, so tests can hold this engine to transformers.js on such files without Python.
/// <see cref="QuantizationSettings.TransformersJs"/> gives each quantisation; <c>fp16</c> and <c>q4f16</c> then
/// convert every float tensor to float16 (q4f16 is q4 first, as quantize.py does it).
/// </summary>
public static class TransformersJsVariants
{
    /// <summary>Every dtype but fp32, in transformers.js' order.</summary>
    public static IReadOnlyList<string> Dtypes { get; } = ["fp16", "q8", "int8", "uint8", "q4", "q4f16", "bnb4"];

    /// <summary>Writes <paramref name="dtype"/>'s variant of the fp32 graph <paramref name="input"/> to
    /// <paramref name="output"/>. Deterministic: the same input gives the same bytes.</summary>
    public static QuantizationReport? WriteFile(string input, string output, string dtype)
    {
        if (!Dtypes.Contains(dtype))
        {
            throw new ArgumentException($"dtype '{dtype}' is not one of {string.Join(", ", Dtypes)}.", nameof(dtype));
        }

        ModelProto model;
        using (var file = File.OpenRead(input))
        {
            model = ModelProto.Parser.ParseFrom(file);
        }

        var settings = QuantizationSettings.TransformersJs(dtype);
        var report = settings is null ? null : ModelQuantizer.Quantize(model, settings);
        if (dtype is "fp16" or "q4f16")
        {
            Float16Converter.Convert(model);
        }

        using (var file = File.Create(output))
        {
            model.WriteTo(file);
        }

        return report;
    }
}
