using System.Diagnostics;
using ServerlessInference.Engine.Loading;
using ServerlessInference.ModelTools;
using ServerlessInference.Tools;

// Flags: QuantizeCommandLine.cs, or `quantize --help`.
// MatMulNBits' accuracy_level defaults to 4 (int8 activations per block: the fastest here, and batch-invariant);
// 0 leaves it unset as transformers.js' own q4 files do (float32 compute). The output projection (the weight as wide
// as the vocabulary) gets its own block size, and each MatMulNBits takes the bias Add after it as its bias input:
// both chosen by measurement (models/marian-tiny-en-zh/README.md, "Quantized variants"). fp16 converts every float
// tensor to float16 and keeps the graphs' inputs and outputs float32, as transformers.js' own fp16 files; q4f16 is q4,
// then that conversion. --recipe transformers.js writes instead what transformers.js' scripts/quantize.py writes
// through ONNX Runtime's quantizers (TransformersJsVariants), the files Xenova/* and onnx-community/* folders hold.
// Reads <dir>/onnx/encoder_model.onnx and decoder_model_merged.onnx (or the decoder pair) and writes each graph's
// variant beside it (or in --output) under the transformers.js name of the dtype (encoder_model_q4.onnx, …), never
// over a file that exists unless --force.
var commandLine = QuantizeCommandLine.Create(ModelQuantizer.DefaultBlockSize, ModelQuantizer.DefaultOutputProjectionBlockSize);
var parsed = commandLine.Parse(args);
if (parsed.Finished(out int exitCode))
{
    return exitCode;
}

var options = parsed.Values;
var (modelDir, dtype) = (options["model"], options["dtype"]);
// q8 writes MatMulNBits with 8 bits (int8 activations per row and block: a sentence's output does not depend on its
// batch-mates, so the engine batches it; transformers.js loads it as q8); q8-dynamic writes quantize_dynamic's
// per-tensor pattern under the same name, as the committed _quantized files hold (batch-dependent: served one sentence
// per batch).
var transformersJs = options["recipe"] == "transformers.js";
var (kind, fileDtype) = dtype switch
{
    "q4" => (WeightQuantization.Q4, "q4"),
    "q4f16" => (WeightQuantization.Q4, "q4f16"),
    "bnb4" => (WeightQuantization.Bnb4, "bnb4"),
    "q8" => (WeightQuantization.Q8Blockwise, "q8"),
    "q8-dynamic" => (WeightQuantization.DynamicUInt8, "q8"),
    "uint8" => (WeightQuantization.DynamicUInt8, "uint8"),
    "int8" => (WeightQuantization.DynamicInt8, "int8"),
    "fp16" => ((WeightQuantization?)null, "fp16"),
    _ => ((WeightQuantization?)null, ""),
};
if (fileDtype == "")
{
    return Fail($"--dtype must be one of {string.Join(", ", QuantizeCommandLine.Dtypes)}, not '{dtype}'.");
}

if (transformersJs && dtype == "q8-dynamic")
{
    return Fail("q8-dynamic is this repo's recipe; --recipe transformers.js --dtype q8 writes transformers.js' q8.");
}

try
{
    var folder = MarianModelFolder.Read(modelDir);
    var blockSize = kind == WeightQuantization.Bnb4 ? QuantizationSettings.Bnb4BlockSize : options.Int("block-size");
    // fp16 is a conversion, not a quantisation: no settings.
    var settings = kind is null ? null : new QuantizationSettings(kind.Value, blockSize, options.Int("accuracy-level"))
    {
        Vocab = folder.VocabSize,
        OutputProjectionBlockSize = options.Int("output-block-size"),
        FuseBias = options.Int("fuse-bias") != 0,
        KeepOutputProjection = options["output-projection"] == "float",
    };
    bool toFloat16 = fileDtype is "fp16" or "q4f16";
    var suffix = ModelDtype.Suffix(fileDtype);
    var graphs = new[] { folder.EncoderPath, folder.MergedDecoderPath, folder.DecoderPath, folder.DecoderWithPastPath }
        .OfType<string>().ToArray();
    var outputDirectory = options.GetValueOrDefault("output");
    var outputs = graphs.Select(g => QuantizeCommandLine.OutputPath(g, suffix, outputDirectory)).ToArray();
    if (QuantizeCommandLine.Refused(outputs, options.ContainsKey("force")) is [_, ..] refused)
    {
        return Fail($"{string.Join(", ", refused)} already exist{(refused.Count == 1 ? "s" : "")}; nothing written. "
            + "Pass --force to overwrite, or --output <dir> to write elsewhere.");
    }

    if (outputDirectory is not null)
    {
        Directory.CreateDirectory(outputDirectory);
    }

    foreach (var (graph, output) in graphs.Zip(outputs))
    {
        var watch = Stopwatch.StartNew();
        if (transformersJs)
        {
            var written = TransformersJsVariants.WriteFile(graph, output, fileDtype);
            Console.WriteLine($"{output}: transformers.js {fileDtype}"
                + (written is null ? "" : $", {written.MatMulsQuantized} MatMuls and {written.GathersQuantized} Gathers quantized, "
                    + $"{written.MatMulsKept} MatMuls kept float32")
                + $"; file {new FileInfo(output).Length / 1e6:F1} MB; {watch.Elapsed.TotalSeconds:F1} s");
            continue;
        }

        if (settings is null)
        {
            var converted = Float16Converter.ConvertFile(graph, output);
            Console.WriteLine($"{output}: {converted.TensorsConverted} tensors to float16, {converted.CastsAdded} casts at the "
                + $"graph's inputs and outputs; {converted.BytesBefore / 1e6:F1} MB -> {converted.BytesAfter / 1e6:F1} MB; "
                + $"{watch.Elapsed.TotalSeconds:F1} s");
            continue;
        }

        var report = ModelQuantizer.QuantizeFile(graph, output, settings);
        if (toFloat16)
        {
            Float16Converter.ConvertFile(output, output);
        }

        Console.WriteLine($"{output}: {report.MatMulsQuantized} MatMuls quantized, {report.MatMulsKept} kept float32, "
            + $"{report.BiasesFused} biases fused; " +
            $"weights {report.WeightBytesBefore / 1e6:F1} MB -> {report.WeightBytesAfter / 1e6:F1} MB; " +
            $"file {new FileInfo(output).Length / 1e6:F1} MB; {watch.Elapsed.TotalSeconds:F1} s");
    }

    return 0;
}
catch (ModelFormatException e)
{
    return Fail(e.Message);
}
catch (IOException e)
{
    return Fail(e.Message);
}

static int Fail(string message)
{
    Console.Error.WriteLine($"error: {message}");
    return 1;
}
