using 'main.bicep'

param baseName = 'slinfer'
param instanceMemoryMB = 2048
param maximumInstanceCount = 40
// Concurrent HTTP requests per instance before scale-out (chosen by bench/load.sh; infra/README.md).
param httpPerInstanceConcurrency = 16
// Set to 1 to keep one warm HTTP instance (billed while idle) and avoid cold starts.
param alwaysReadyHttpInstances = 0
param tags = {
  app: 'serverless-inference'
}
