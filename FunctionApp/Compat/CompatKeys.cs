using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace ServerlessInference.Compat;

/// <summary>Checks a presented key against <see cref="CompatApiOptions.Keys"/>. Keys are compared as SHA-256 hashes
/// with <see cref="CryptographicOperations.FixedTimeEquals"/>, against every configured key without stopping at a
/// match, so neither a key's length nor how much of it matches shows in the time an answer takes.</summary>
public sealed class CompatKeys(IOptions<CompatApiOptions> options)
{
    private readonly byte[][] _hashes = options.Value.KeyList().Select(Hash).ToArray();

    /// <summary>False when no key is configured: the compatible APIs are off.</summary>
    public bool Enabled => _hashes.Length > 0;

    public bool Accepts(string? presented)
    {
        if (string.IsNullOrEmpty(presented) || _hashes.Length == 0)
        {
            return false;
        }

        var hash = Hash(presented);
        var match = false;
        foreach (var known in _hashes)
        {
            match |= CryptographicOperations.FixedTimeEquals(hash, known);
        }
        return match;
    }

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
