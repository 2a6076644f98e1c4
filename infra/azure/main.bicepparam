using 'main.bicep'

param baseName = 'slinfer'
// 2048 holds the embedded model or one opus-mt-size model; 4096 for two of those loaded at once (infra/README.md "Memory").
param instanceMemoryMB = 2048
param maximumInstanceCount = 40
// Concurrent HTTP requests per instance before scale-out (chosen by bench/load.sh; infra/README.md).
param httpPerInstanceConcurrency = 16
// Set to 1 to keep one warm HTTP instance (billed while idle) and avoid cold starts.
param alwaysReadyHttpInstances = 0
param tags = {
  app: 'serverless-inference'
}
