using ServerlessInference.Engine.Loading;

namespace ServerlessInference.ModelTools.Tests;

/// <summary>
/// The shipped model with every variant transformers.js' quantize.py writes (<see cref="TransformersJsVariants"/>),
/// made once from the shipped fp32 graphs in a temporary folder: the converters are deterministic, so the files are the
/// ones the transformers.js fixtures were recorded on (<c>tools/Quantize --recipe transformers.js --dtype …</c> on a copy
/// of the model, then <c>node fixtures.mjs &lt;copy&gt; &lt;out&gt; &lt;dtype&gt;</c>).
/// </summary>
public sealed class TransformersJsVariantsFixture : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("transformersjs-variants-");

    public TransformersJsVariantsFixture()
    {
        var model = MarianModelFolder.Read(RepoPaths.ShippedModel);
        foreach (var file in Directory.GetFiles(RepoPaths.ShippedModel))
        {
            File.Copy(file, Path.Combine(_folder.FullName, Path.GetFileName(file)));
        }

        var onnx = Directory.CreateDirectory(Path.Combine(_folder.FullName, "onnx")).FullName;
        foreach (var graph in new[] { model.EncoderPath, model.MergedDecoderPath! })
        {
            File.Copy(graph, Path.Combine(onnx, Path.GetFileName(graph)));
            foreach (var dtype in TransformersJsVariants.Dtypes)
            {
                var output = Path.Combine(onnx, Path.GetFileNameWithoutExtension(graph) + ModelDtype.Suffix(dtype) + ".onnx");
                TransformersJsVariants.WriteFile(graph, output, dtype);
            }
        }
    }

    public string Folder => _folder.FullName;

    public void Dispose() => _folder.Delete(recursive: true);
}
