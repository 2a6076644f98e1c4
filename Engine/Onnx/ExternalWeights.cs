namespace ServerlessInference.Engine.Onnx;

/// <summary>
/// Reads an ONNX file as a small model whose large initializers point back into that file as ONNX external data
/// (location = the file's name, offset and length of each raw_data payload), without loading the weights.
/// <para>
/// Parsing a whole decoder with Google.Protobuf copies every weight into the managed heap, and serialising the
/// rewritten graph copies them again before ONNX Runtime makes its own copy: three copies of the model at once. The
/// skeleton is a few hundred kilobytes; ONNX Runtime reads the weights from the original file when the session is
/// created from it with <c>session.model_external_initializers_file_folder_path</c> set to the file's folder.
/// </para>
/// Only the main graph's initializers stored as raw_data move out; everything else is copied byte for byte.
/// </summary>
internal static class ExternalWeights
{
    /// <summary>Payloads below this many bytes stay inline: one file read each would cost more than they weigh.</summary>
    public const int MinExternalBytes = 4096;

    // Field numbers of onnx.proto.
    private const int ModelGraph = 7;
    private const int GraphInitializer = 5;
    private const int TensorRawData = 9;
    private const int TensorExternalData = 13;
    private const int TensorDataLocation = 14;
    private const int WireVarint = 0;
    private const int WireFixed64 = 1;
    private const int WireLengthDelimited = 2;
    private const int WireFixed32 = 5;

    /// <summary>The model at <paramref name="path"/> with its large main-graph initializers as external data.</summary>
    /// <exception cref="InvalidDataException">The file is not a well-formed protobuf.</exception>
    public static byte[] ReadSkeleton(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        var reader = new Reader(file);
        var location = Path.GetFileName(path);
        using var output = new MemoryStream();
        while (!reader.AtEnd(file.Length))
        {
            var (field, wire) = reader.ReadTag();
            if (field == ModelGraph && wire == WireLengthDelimited)
            {
                long length = reader.ReadLength(file.Length);
                WriteLengthDelimited(output, ModelGraph, Graph(reader, reader.Position + length, location));
            }
            else
            {
                WriteTag(output, field, wire);
                reader.CopyValue(wire, output, file.Length);
            }
        }

        return output.ToArray();
    }

    private static byte[] Graph(Reader reader, long end, string location)
    {
        using var output = new MemoryStream();
        while (!reader.AtEnd(end))
        {
            var (field, wire) = reader.ReadTag();
            if (field == GraphInitializer && wire == WireLengthDelimited)
            {
                long length = reader.ReadLength(end);
                WriteLengthDelimited(output, GraphInitializer, Tensor(reader, reader.Position + length, location));
            }
            else
            {
                WriteTag(output, field, wire);
                reader.CopyValue(wire, output, end);
            }
        }

        return output.ToArray();
    }

    private static byte[] Tensor(Reader reader, long end, string location)
    {
        using var output = new MemoryStream();
        (long Offset, long Length)? external = null;
        while (!reader.AtEnd(end))
        {
            var (field, wire) = reader.ReadTag();
            if (field == TensorRawData && wire == WireLengthDelimited)
            {
                long length = reader.ReadLength(end);
                if (length >= MinExternalBytes)
                {
                    external = (reader.Position, length);
                    reader.Skip(length);
                    continue;
                }

                WriteTag(output, field, wire);
                WriteVarint(output, (ulong)length);
                reader.CopyBytes(length, output);
            }
            else
            {
                WriteTag(output, field, wire);
                reader.CopyValue(wire, output, end);
            }
        }

        if (external is { } e)
        {
            WriteLengthDelimited(output, TensorExternalData, Entry("location", location));
            var invariant = System.Globalization.CultureInfo.InvariantCulture;
            WriteLengthDelimited(output, TensorExternalData, Entry("offset", e.Offset.ToString(invariant)));
            WriteLengthDelimited(output, TensorExternalData, Entry("length", e.Length.ToString(invariant)));
            WriteTag(output, TensorDataLocation, WireVarint);
            WriteVarint(output, (ulong)TensorProto.Types.DataLocation.External);
        }

        return output.ToArray();
    }

    private static byte[] Entry(string key, string value)
    {
        using var output = new MemoryStream();
        WriteLengthDelimited(output, 1, System.Text.Encoding.UTF8.GetBytes(key));
        WriteLengthDelimited(output, 2, System.Text.Encoding.UTF8.GetBytes(value));
        return output.ToArray();
    }

    private static void WriteTag(Stream output, int field, int wire) => WriteVarint(output, ((ulong)field << 3) | (uint)wire);

    private static void WriteLengthDelimited(Stream output, int field, byte[] payload)
    {
        WriteTag(output, field, WireLengthDelimited);
        WriteVarint(output, (ulong)payload.Length);
        output.Write(payload);
    }

    private static void WriteVarint(Stream output, ulong value)
    {
        while (value >= 0x80)
        {
            output.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        output.WriteByte((byte)value);
    }

    /// <summary>Forward-only protobuf reader over a buffered file that knows its position.</summary>
    private sealed class Reader(FileStream file)
    {
        private readonly byte[] _copy = new byte[1 << 16];

        public long Position => file.Position;

        public bool AtEnd(long end)
        {
            if (Position > end)
            {
                throw Malformed();
            }

            return Position == end;
        }

        public (int Field, int Wire) ReadTag()
        {
            ulong tag = ReadVarint();
            int field = (int)(tag >> 3);
            if (field == 0 || tag >> 3 > int.MaxValue)
            {
                throw Malformed();
            }

            return (field, (int)(tag & 7));
        }

        public long ReadLength(long end)
        {
            ulong length = ReadVarint();
            if (length > (ulong)(end - Position))
            {
                throw Malformed();
            }

            return (long)length;
        }

        public ulong ReadVarint()
        {
            ulong value = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                int b = file.ReadByte();
                if (b < 0)
                {
                    throw Malformed();
                }

                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw Malformed();
        }

        public void Skip(long length) => file.Seek(length, SeekOrigin.Current);

        public void CopyBytes(long length, Stream output)
        {
            while (length > 0)
            {
                int n = file.Read(_copy, 0, (int)Math.Min(length, _copy.Length));
                if (n <= 0)
                {
                    throw Malformed();
                }

                output.Write(_copy, 0, n);
                length -= n;
            }
        }

        /// <summary>Copies the value of a field whose tag was just read.</summary>
        public void CopyValue(int wire, Stream output, long end)
        {
            switch (wire)
            {
                case WireVarint:
                    WriteVarint(output, ReadVarint());
                    break;
                case WireFixed64:
                    CopyBytes(8, output);
                    break;
                case WireFixed32:
                    CopyBytes(4, output);
                    break;
                case WireLengthDelimited:
                    long length = ReadLength(end);
                    WriteVarint(output, (ulong)length);
                    CopyBytes(length, output);
                    break;
                default:
                    throw Malformed();
            }
        }

        private static InvalidDataException Malformed() => new("not a well-formed ONNX model");
    }

    /// <summary>Reads a float32 tensor's values, inline or external (relative to <paramref name="folder"/>).</summary>
    public static float[] ReadFloats(TensorProto tensor, string folder)
    {
        var result = new float[checked((int)tensor.Dims.Aggregate(1L, (a, b) => a * b))];
        ReadFloats(tensor, folder, 0, result);
        return result;
    }

    /// <summary>Fills <paramref name="target"/> with the tensor's values from element <paramref name="start"/> on.</summary>
    public static void ReadFloats(TensorProto tensor, string folder, long start, Span<float> target)
    {
        if (tensor.DataType != (int)TensorProto.Types.DataType.Float)
        {
            throw new NotSupportedException("only float tensors");
        }

        if (!BitConverter.IsLittleEndian)
        {
            throw new NotSupportedException("big-endian host");
        }

        if (tensor.DataLocation != TensorProto.Types.DataLocation.External)
        {
            if (tensor.FloatData.Count > 0)
            {
                for (int i = 0; i < target.Length; i++)
                {
                    target[i] = tensor.FloatData[checked((int)start + i)];
                }

                return;
            }

            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(tensor.RawData.Span)
                .Slice(checked((int)start), target.Length).CopyTo(target);
            return;
        }

        var entries = tensor.ExternalData.ToDictionary(e => e.Key, e => e.Value);
        var name = entries.GetValueOrDefault("location") ?? throw new NotSupportedException("external data without a location");
        long offset = entries.TryGetValue("offset", out var o) ? long.Parse(o, System.Globalization.CultureInfo.InvariantCulture) : 0;
        long length = entries.TryGetValue("length", out var l) ? long.Parse(l, System.Globalization.CultureInfo.InvariantCulture) : -1;
        var full = Path.GetFullPath(Path.Combine(folder, name));
        if (!full.StartsWith(Path.GetFullPath(folder) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new NotSupportedException("external data outside the model's folder");
        }

        if (length >= 0 && (start + target.Length) * sizeof(float) > length)
        {
            throw new NotSupportedException("external data shorter than the tensor");
        }

        using var handle = File.OpenHandle(full);
        var destination = System.Runtime.InteropServices.MemoryMarshal.AsBytes(target);
        long at = offset + start * sizeof(float);
        while (destination.Length > 0)
        {
            int n = RandomAccess.Read(handle, destination, at);
            if (n <= 0)
            {
                throw new NotSupportedException("external data past the end of its file");
            }

            destination = destination[n..];
            at += n;
        }
    }
}
