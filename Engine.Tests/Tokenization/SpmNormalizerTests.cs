using Google.Protobuf;
using ServerlessInference.Engine.Tokenization;
using ServerlessInference.Engine.Tokenization.SentencePiece;

namespace ServerlessInference.Engine.Tests.Tokenization;

public sealed class SpmNormalizerTests
{
    private static readonly byte[] ShippedSourceModel = File.ReadAllBytes(Path.Combine(RepoPaths.ShippedModel, "source.spm"));

    [Fact]
    public void UserDefinedPiecesAreLeftAsTheyAreAsSpmEncodeDoes()
    {
        // Protobuf appends a repeated field's elements on concatenation: the shipped model plus two user-defined
        // pieces. SentencePiece 0.1.97 splits "aﬃb ﬃⅫ ﬀ Ⅻ" with it into ▁a ﬃ b ▁ ﬃ Ⅻ ▁f f ▁ Ⅻ.
        var extra = new ModelProto();
        foreach (var piece in new[] { "\ufb03", "\u216b" })
        {
            extra.Pieces.Add(new ModelProto.Types.SentencePiece
            {
                Piece = piece,
                Type = ModelProto.Types.SentencePiece.Types.Type.UserDefined,
            });
        }

        var normalizer = SpmNormalizer.FromModel([.. ShippedSourceModel, .. extra.ToByteArray()]);
        Assert.Equal("▁a\ufb03b▁\ufb03\u216b▁ff▁\u216b", normalizer.Normalize("a\ufb03b \ufb03\u216b \ufb00 \u216b"));
    }

    [Theory]
    [InlineData("a\ufb03b \ufb03\u216b \ufb00 \u216b", "▁affib▁ffiXII▁ff▁XII")]
    [InlineData("  \u3000 Two   spaces\u00a0\u00a0here \u3000 ", "▁Two▁spaces▁here")]
    [InlineData("\u3000 \u3000", "")]
    [InlineData("Bell\u0007 and NUL\u0000", "▁Bell▁and▁NUL\u0000")]
    public void TextIsNormalisedByTheModelsCharsmapAndWhitespaceRules(string text, string expected) =>
        // Expected: the concatenated pieces spm_encode prints for the text with the shipped model.
        Assert.Equal(expected, SpmNormalizer.FromModel(ShippedSourceModel).Normalize(text));
}
