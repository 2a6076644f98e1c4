using ServerlessInference.Engine.Loading;

namespace ServerlessInference.ModelTools.Tests;

/// <summary>
/// The shipped model with 8-bit MatMulNBits variants (<c>tools/Quantize --dtype q8</c>) of its graphs under the
/// q8 name, one folder per recipe, made once from the shipped fp32 graphs in a temporary folder.
/// </summary>
public sealed class Q8BlockwiseVariantsFixture : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("q8-variants-");

    /// <summary>The recipes, as tools/Quantize's flags name them.</summary>
    public static readonly IReadOnlyDictionary<string, Func<int, QuantizationSettings>> Recipes =
        new Dictionary<string, Func<int, QuantizationSettings>>(StringComparer.Ordinal)
        {
            // tools/Quantize's defaults: blocks of 32, the output projection's of 128, biases fused.
            ["default"] = vocab => Settings(vocab, 32, 128),
            ["output-block-32"] = vocab => Settings(vocab, 32, 32),
            ["float-output-projection"] = vocab => Settings(vocab, 32, 128) with { KeepOutputProjection = true },
        };

    public Q8BlockwiseVariantsFixture()
    {
        var model = MarianModelFolder.Read(RepoPaths.ShippedModel);
        foreach (var (name, recipe) in Recipes)
        {
            var folder = Directory.CreateDirectory(Path.Combine(_root.FullName, name)).FullName;
            foreach (var file in Directory.GetFiles(RepoPaths.ShippedModel))
            {
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            }

            var onnx = Directory.CreateDirectory(Path.Combine(folder, "onnx")).FullName;
            foreach (var graph in new[] { model.EncoderPath, model.MergedDecoderPath! })
            {
                var output = Path.Combine(onnx, Path.GetFileNameWithoutExtension(graph) + ModelDtype.Suffix("q8") + ".onnx");
                ModelQuantizer.QuantizeFile(graph, output, recipe(model.VocabSize));
            }
        }
    }

    /// <summary>The folder of <paramref name="recipe"/>'s variant; load it with dtype q8.</summary>
    public string Folder(string recipe) => Path.Combine(_root.FullName, recipe);

    public void Dispose() => _root.Delete(recursive: true);

    private static QuantizationSettings Settings(int vocab, int blockSize, int outputBlockSize) =>
        new(WeightQuantization.Q8Blockwise, blockSize, AccuracyLevel: 4)
        {
            Vocab = vocab,
            OutputProjectionBlockSize = outputBlockSize,
            FuseBias = true,
        };
}
