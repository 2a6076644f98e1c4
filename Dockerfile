# syntax=docker/dockerfile:1
# Azure Functions host + .NET 10 isolated worker, as `func kubernetes deploy` would build it.
# The model is NOT in the image: the app pulls it from blob storage (container `models`) on first use.
# No Docker engine in CI: linted by scripts/validate-infra.sh, checked against the project by
# FunctionApp.Tests/Infra/DockerfileTests.cs.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first so the layer is reused while only sources change.
COPY Directory.Build.props Directory.Build.targets Directory.Packages.props global.json host.json local.settings.sample.json ./
COPY Engine/Engine.csproj Engine/
COPY FunctionApp/FunctionApp.csproj FunctionApp/
RUN dotnet restore FunctionApp/FunctionApp.csproj -r linux-x64
COPY Engine/ Engine/
COPY FunctionApp/ FunctionApp/
# ReadyToRun for this runtime and tiered compilation off come from FunctionApp.csproj (bench/results/cold-start.md).
RUN dotnet publish FunctionApp/FunctionApp.csproj -c Release -r linux-x64 --self-contained false -o /home/site/wwwroot

FROM mcr.microsoft.com/azure-functions/dotnet-isolated:4-dotnet-isolated10.0
# The worker's console logs are one JSON object per line, with each line's scopes (invocation, trace and job ids;
# FunctionApp/Telemetry/InvocationLogScope.cs), for a cluster's log collector to index.
ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    ASPNETCORE_URLS=http://+:8080 \
    Logging__Console__FormatterName=json \
    Logging__Console__FormatterOptions__IncludeScopes=true \
    Logging__Console__FormatterOptions__UseUtcTimestamp=true \
    Logging__Console__FormatterOptions__TimestampFormat=yyyy-MM-ddTHH:mm:ss.fffZ
COPY --from=build /home/site/wwwroot /home/site/wwwroot
# The host runs as a non-root user (a numeric id, so Kubernetes can verify runAsNonRoot). It listens on
# 8080 because only root may bind ports below 1024. /home/data and /home/LogFiles are the host's
# writable folders; /cache is where the Kubernetes manifests point Models__CacheDirectory.
RUN mkdir -p /home/data /home/LogFiles /cache/models \
    && chown -R 10001:10001 /home/data /home/LogFiles /cache
USER 10001:10001
# 8080: the host's HTTP; 9464: the Prometheus endpoint when Monitoring__PrometheusEnabled is set.
EXPOSE 8080 9464
# Probes (anonymous HTTP functions): liveness GET /api/health, readiness GET /api/ready (default model loaded)
