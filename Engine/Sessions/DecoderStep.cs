using Microsoft.ML.OnnxRuntime;

namespace ServerlessInference.Engine.Sessions;

/// <summary>What one decoder Run returns; the holder disposes what it does not hand on. Output is the logits, or
/// the hidden states when the model has a split-off <see cref="MarianOnnxModel.Projection"/>.</summary>
internal sealed record DecoderStep(OrtValue Output, OrtValue[] DecoderKv, OrtValue[]? EncoderKv);
