using System.Runtime.InteropServices;
using ServerlessInference.Engine.Onnx;

namespace ServerlessInference.ModelTools.Tests;

/// <summary>What the quantizer tests hold a quantized graph to: the float MatMul, in double precision, over the
/// weights its tensors stand for, and those tensors found by name.</summary>
internal static class QuantizedGraphReference
{
    /// <summary>x [rows, k] · w [k, n].</summary>
    public static float[] MatMul(float[] x, float[] w, int rows, int k, int n)
    {
        var y = new float[rows * n];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < n; c++)
            {
                double sum = 0;
                for (int i = 0; i < k; i++)
                {
                    sum += (double)x[r * k + i] * w[i * n + c];
                }

                y[r * n + c] = (float)sum;
            }
        }

        return y;
    }

    /// <summary>The one initializer whose name ends in <paramref name="suffix"/>.</summary>
    public static TensorProto Tensor(ModelProto model, string suffix) =>
        model.Graph.Initializer.Single(t => t.Name.EndsWith(suffix, StringComparison.Ordinal));

    public static float[] Floats(TensorProto t) => MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
}
