using System.Runtime.InteropServices;

namespace ServerlessInference.Engine.Sessions;

/// <summary>Hands memory that native code (ONNX Runtime) freed back to the system.</summary>
internal static partial class NativeMemory
{
    /// <summary>glibc keeps freed heap memory mapped for reuse; malloc_trim returns what it can. A no-op elsewhere
    /// (musl, Windows, macOS), where the allocator returns memory differently or the function does not exist.</summary>
    public static void Trim()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            _ = MallocTrim(0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc.
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
