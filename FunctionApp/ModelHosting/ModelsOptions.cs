using System.ComponentModel.DataAnnotations;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Storage;

namespace ServerlessInference.ModelHosting;

/// <summary>Where models live in Blob Storage and how many stay loaded ("Models" section).</summary>
public sealed class ModelsOptions
{
    public const string Section = "Models";
    public const string DefaultModelName = "marian-tiny-en-zh";

    /// <summary>Name of the connection setting: <c>{name}</c> holds a connection string, or
    /// <c>{name}__blobServiceUri</c> / <c>{name}__accountName</c> select identity-based access.</summary>
    [Required]
    public string Connection { get; set; } = "AzureWebJobsStorage";

    [Required, RegularExpression(StorageNames.ContainerPattern, ErrorMessage = "Models:Container is not a valid blob container name.")]
    public string Container { get; set; } = "models";

    [Required]
    public string DefaultModel { get; set; } = DefaultModelName;

    /// <summary>Models callers may ask for. Empty means the single default entry (filled in by post-configuration,
    /// because binding a list onto a pre-filled default would append to it rather than replace it).</summary>
    public List<ModelCatalogEntry> Catalog { get; set; } = [];

    /// <summary>Local folder for downloaded models; empty means the default under the temp folder.</summary>
    public string CacheDirectory { get; set; } = DefaultCacheDirectory;

    public static string DefaultCacheDirectory => Path.Combine(Path.GetTempPath(), "serverless-inference", "models");

    [Range(1, 64)]
    public int MaxLoaded { get; set; } = 2;

    /// <summary>Both the Retry-After sent with 503 and how long a failed load is remembered before a call retries it.</summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = 10;
}

public sealed class ModelCatalogEntry
{
    public string Name { get; set; } = "";

    /// <summary>Blob name prefix of the model folder in the container, e.g. <c>marian-tiny-en-zh/</c>.</summary>
    public string Prefix { get; set; } = "";

    /// <summary>Which graphs of the folder to load, in transformers.js' naming (<c>q4</c> loads
    /// <c>onnx/encoder_model_q4.onnx</c> and <c>onnx/decoder_model_merged_q4.onnx</c>); see
    /// <see cref="ModelDtype"/>.</summary>
    public string Dtype { get; set; } = ModelDtype.Default;

    /// <summary>For a multi-target model (opus-mt-en-zh): the target language used when a request names none, as
    /// the code of its vocab token (cmn_Hans for &gt;&gt;cmn_Hans&lt;&lt;). Empty: the text goes in as it is.</summary>
    public string? TargetLanguage { get; set; }

    /// <summary>What the model translates, for the translation-API-compatible endpoints (LibreTranslate, DeepL):
    /// <c>en&gt;zh</c>, or for a multi-target model <c>en&gt;zh-Hans=cmn_Hans,zh-Hant=cmn_Hant</c> (each target's
    /// token as in <see cref="TargetLanguage"/>). Empty: <see cref="ModelLanguages.EmbeddedModel"/> for the shipped
    /// model, else the model is not offered there. See <see cref="ModelLanguages.Rule"/>.</summary>
    public string? Languages { get; set; }
}
