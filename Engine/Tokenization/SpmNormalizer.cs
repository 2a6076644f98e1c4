using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Engine.Tokenization.SentencePiece;

namespace ServerlessInference.Engine.Tokenization;

/// <summary>
/// SentencePiece's text normalisation (normalizer.cc), which spm_encode applies before segmenting: the model's
/// precompiled charsmap (nmt_nfkc for Marian) rewrites the UTF-8 text by longest match, user-defined pieces are left
/// as they are, spaces are collapsed and trimmed, spaces become '▁' and a '▁' goes in front.
/// </summary>
/// <remarks>
/// Microsoft.ML.Tokenizers 2.0.1 normalises the same way, but its unigram model then copies the normalised text into
/// a char buffer rented for the input's length plus two and grown at most once, to twice its size
/// (SentencePieceUnigramModel.StoreNormalizedText): text that normalisation makes longer than that (ﷺ becomes 18
/// characters, … three) throws IndexOutOfRangeException. The library's public Normalize ignores the charsmap, so it
/// cannot stand in; MarianTokenizer normalises here and hands the library text with its normalisation turned off,
/// which that copy always has room for. This also deletes what the charsmap rewrites to nothing (control
/// characters): the library reads an empty rewrite as none and keeps the character, spm_encode drops it.
/// </remarks>
internal sealed class SpmNormalizer
{
    private static ReadOnlySpan<byte> SpaceSymbol => "\u2581"u8;
    private static ReadOnlySpan<byte> Space => " "u8;
    private static ReadOnlySpan<byte> ReplacementCharacter => "\uFFFD"u8;

    // The charsmap is a darts-clone double array (keys: UTF-8 prefixes; values: offsets into _rewrites) followed by
    // the NUL-terminated rewrites.
    private readonly uint[] _units;
    private readonly byte[] _rewrites;
    private readonly byte[][] _userDefined;
    private readonly bool _addDummyPrefix;
    private readonly bool _removeExtraWhitespaces;
    private readonly bool _escapeWhitespaces;
    private readonly bool _treatWhitespaceAsSuffix;

    private SpmNormalizer(ModelProto model)
    {
        var spec = model.NormalizerSpec ?? new NormalizerSpec();
        _addDummyPrefix = spec.AddDummyPrefix;
        _removeExtraWhitespaces = spec.RemoveExtraWhitespaces;
        _escapeWhitespaces = spec.EscapeWhitespaces;
        _treatWhitespaceAsSuffix = model.TrainerSpec?.TreatWhitespaceAsSuffix ?? false;
        _userDefined = model.Pieces
            .Where(p => p.Type == ModelProto.Types.SentencePiece.Types.Type.UserDefined && p.Piece.Length > 0)
            .Select(p => Encoding.UTF8.GetBytes(p.Piece))
            .ToArray();
        (_units, _rewrites) = DecodeCharsMap(spec.PrecompiledCharsmap.Span);
    }

    /// <summary>The normaliser a serialized SentencePiece ModelProto (an .spm file) describes.</summary>
    public static SpmNormalizer FromModel(ReadOnlySpan<byte> model) => new(ModelProto.Parser.ParseFrom(model));

    /// <summary><paramref name="text"/> as SentencePiece normalises it; empty when nothing but spaces remains.</summary>
    public string Normalize(string text)
    {
        // A lone surrogate becomes U+FFFD here, as Microsoft.ML.Tokenizers encodes it, so the UTF-8 is always valid.
        ReadOnlySpan<byte> input = Encoding.UTF8.GetBytes(text);
        if (_removeExtraWhitespaces)
        {
            while (!input.IsEmpty)
            {
                var rewrite = NormalizePrefix(input, out int consumed);
                if (!rewrite.SequenceEqual(Space))
                {
                    break;
                }

                input = input[consumed..];
            }
        }

        if (input.IsEmpty)
        {
            return "";
        }

        var output = new List<byte>(input.Length * 3);
        if (!_treatWhitespaceAsSuffix && _addDummyPrefix)
        {
            AppendSpace(output);
        }

        bool isPrevSpace = _removeExtraWhitespaces;
        while (!input.IsEmpty)
        {
            var rewrite = NormalizePrefix(input, out int consumed);
            while (isPrevSpace && !rewrite.IsEmpty && rewrite[0] == (byte)' ')
            {
                rewrite = rewrite[1..];
            }

            if (!rewrite.IsEmpty)
            {
                foreach (byte b in rewrite)
                {
                    if (b == (byte)' ')
                    {
                        AppendSpace(output);
                    }
                    else
                    {
                        output.Add(b);
                    }
                }

                isPrevSpace = rewrite[^1] == (byte)' ';
            }

            input = input[consumed..];
            if (!_removeExtraWhitespaces)
            {
                isPrevSpace = false;
            }
        }

        if (_removeExtraWhitespaces)
        {
            var space = _escapeWhitespaces ? SpaceSymbol : Space;
            while (CollectionsMarshal.AsSpan(output).EndsWith(space))
            {
                output.RemoveRange(output.Count - space.Length, space.Length);
            }
        }

        if (_treatWhitespaceAsSuffix && _addDummyPrefix)
        {
            AppendSpace(output);
        }

        return Encoding.UTF8.GetString(CollectionsMarshal.AsSpan(output));
    }

    private void AppendSpace(List<byte> output)
    {
        if (_escapeWhitespaces)
        {
            output.AddRange(SpaceSymbol);
        }
        else
        {
            output.Add((byte)' ');
        }
    }

    /// <summary>What the start of <paramref name="input"/> becomes, and how many of its bytes that uses up.</summary>
    private ReadOnlySpan<byte> NormalizePrefix(ReadOnlySpan<byte> input, out int consumed)
    {
        consumed = 0;
        foreach (var piece in _userDefined)
        {
            if (piece.Length > consumed && input.StartsWith(piece))
            {
                consumed = piece.Length;
            }
        }

        if (consumed > 0)
        {
            return input[..consumed];
        }

        consumed = LongestRewrite(input, out int offset);
        if (consumed > 0)
        {
            var rewrite = _rewrites.AsSpan(Math.Min(offset, _rewrites.Length));
            int end = rewrite.IndexOf((byte)0);
            return end < 0 ? rewrite : rewrite[..end];
        }

        if (Rune.DecodeFromUtf8(input, out _, out consumed) == OperationStatus.Done)
        {
            return input[..consumed];
        }

        // SentencePiece reads one malformed byte as U+FFFD.
        consumed = 1;
        return ReplacementCharacter;
    }

    /// <summary>darts-clone's commonPrefixSearch, keeping only the longest match: its length in bytes (0 for none)
    /// and its value, the offset of its rewrite.</summary>
    private int LongestRewrite(ReadOnlySpan<byte> key, out int value)
    {
        value = 0;
        if (_units.Length == 0)
        {
            return 0;
        }

        int longest = 0;
        uint node = Offset(_units[0]);
        for (int i = 0; i < key.Length; i++)
        {
            node ^= key[i];
            if (node >= (uint)_units.Length)
            {
                break;
            }

            uint unit = _units[node];
            if ((unit & 0x800000FFu) != key[i])
            {
                break;
            }

            node ^= Offset(unit);
            bool hasLeaf = ((unit >> 8) & 1) == 1;
            if (hasLeaf && node < (uint)_units.Length)
            {
                longest = i + 1;
                value = (int)(_units[node] & 0x7FFFFFFFu);
            }
        }

        return longest;

        static uint Offset(uint unit) => (unit >> 10) << (int)((unit & (1u << 9)) >> 6);
    }

    private static (uint[] Units, byte[] Rewrites) DecodeCharsMap(ReadOnlySpan<byte> blob)
    {
        if (blob.IsEmpty)
        {
            return ([], []);
        }

        if (blob.Length <= sizeof(uint))
        {
            throw new ModelFormatException("The normalisation rules (precompiled_charsmap) are truncated.");
        }

        uint trieSize = BinaryPrimitives.ReadUInt32LittleEndian(blob);
        if (trieSize > (uint)(blob.Length - sizeof(uint)))
        {
            throw new ModelFormatException("The normalisation rules (precompiled_charsmap) have a trie larger than themselves.");
        }

        var trie = blob.Slice(sizeof(uint), (int)trieSize);
        var units = new uint[trie.Length / sizeof(uint)];
        for (int i = 0; i < units.Length; i++)
        {
            units[i] = BinaryPrimitives.ReadUInt32LittleEndian(trie[(i * sizeof(uint))..]);
        }

        return (units, blob[(sizeof(uint) + (int)trieSize)..].ToArray());
    }
}
