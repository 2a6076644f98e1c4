using ServerlessInference.Tools;

/// <summary>tools/Quantize's flags (tools/Shared/CommandLine.cs parses them) and where its variant files go.</summary>
internal static class QuantizeCommandLine
{
    public static readonly IReadOnlyList<string> Dtypes = ["q4", "q4f16", "q8", "int8", "uint8", "bnb4", "q8-dynamic", "fp16"];

    /// <summary>tuned: this repo's recipes (the committed variants); transformers.js: what its scripts/quantize.py
    /// writes through ONNX Runtime's quantizers, the files Xenova/* and onnx-community/* publish.</summary>
    public static readonly IReadOnlyList<string> Recipes = ["tuned", "transformers.js"];

    /// <param name="blockSize">The default --block-size (ModelQuantizer's).</param>
    /// <param name="outputBlockSize">The default --output-block-size (ModelQuantizer's).</param>
    public static CommandLine Create(int blockSize, int outputBlockSize) => new("quantize",
        "Writes quantized variants of a model folder's ONNX graphs in the transformers.js naming.",
        [
            new Verb("", "Reads <dir>/onnx/encoder_model.onnx and decoder_model_merged.onnx (or the decoder pair) and "
                + "writes each graph's variant under the transformers.js name of the dtype (encoder_model_q4.onnx, "
                + "decoder_model_merged_q4.onnx; q8: _quantized), beside the graph or in --output. It writes only those "
                + "files, and refuses to overwrite any that exists (the committed variants among them) unless --force.",
                [
                    Flag.Text("model", "<dir>", "the model folder", required: true),
                    Flag.Choice("dtype", Dtypes, "fp16 converts every float tensor to float16; q4f16 is q4, then fp16; bnb4 "
                        + "writes MatMulBnb4 (NF4, blocks of 64); q8 writes 8-bit MatMulNBits (batch-invariant), q8-dynamic "
                        + "quantize_dynamic's per-tensor uint8 pattern (the committed q8 files), both under the q8 name",
                        required: true),
                    Flag.Choice("recipe", Recipes, "tuned: this repo's recipes (q4 and q8 MatMulNBits as the flags below "
                        + "say; q8-dynamic/int8/uint8 per-tensor MatMulInteger); transformers.js: its quantize.py's (q8 as "
                        + "Xenova's _quantized: int8 per channel with reduce_range; int8/uint8 per tensor; all three quantize "
                        + "the embeddings' Gather; q4/q4f16 blocks of 32, accuracy_level unset), ignoring the MatMulNBits flags", "tuned"),
                    Flag.Text("output", "<dir>", "write the variants into this folder (made if missing) instead of "
                        + "beside the graphs in <dir>/onnx; copy them there to load them"),
                    Flag.Switch("force", "overwrite variant files that exist"),
                    Flag.Int("block-size", "MatMulNBits' block size", Invariant(blockSize)),
                    Flag.Int("output-block-size", "the output projection's block size", Invariant(outputBlockSize)),
                    Flag.Int("accuracy-level", "MatMulNBits' accuracy_level: 4, int8 activations per block; 0 leaves it "
                        + "unset (float32 compute)", "4"),
                    Flag.Int("fuse-bias", "1: each MatMulNBits takes the bias Add after it as its bias input; 0: not", "1"),
                    Flag.Choice("output-projection", ["quantized", "float"], "q4/q8: float leaves the output "
                        + "projection float32 (the engine then scores greedy steps with its own exact 4-bit search)",
                        "quantized"),
                ]),
        ]);

    private static string Invariant(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Where the variant of <paramref name="graph"/> goes: beside it, or in <paramref name="outputDirectory"/>
    /// when given, named as the graph plus the dtype's suffix.</summary>
    public static string OutputPath(string graph, string suffix, string? outputDirectory) =>
        Path.Combine(outputDirectory ?? Path.GetDirectoryName(graph)!, Path.GetFileNameWithoutExtension(graph) + suffix + ".onnx");

    /// <summary>The outputs that would overwrite a file that exists: none with <paramref name="force"/>. The tool
    /// writes nothing while this is not empty.</summary>
    public static IReadOnlyList<string> Refused(IEnumerable<string> outputs, bool force) =>
        force ? [] : outputs.Where(File.Exists).ToList();
}
