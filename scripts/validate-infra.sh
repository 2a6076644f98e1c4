#!/usr/bin/env bash
# Offline validation of the deployment assets (no Azure, Docker or cluster needed):
#   Bicep   build + lint of every .bicep, build-params of every .bicepparam; ANY warning or error fails
#           (the Bicep CLI exits 0 on warnings such as BCP037/BCP089, so its output is checked too).
#   K8s     kubectl kustomize of infra/k8s and each overlay, validated by infra/k8s/validate.mjs
#           (Kubernetes + KEDA schemas, unknown fields, references), plus a self-test on
#           infra/k8s/testdata/broken.yaml; yamllint -s.
#   Alerts  promtool check rules + promtool test rules (alerts.test.yaml) of the monitoring component's rules file,
#           which must hold the same groups as its PrometheusRule; its Grafana dashboard must parse. Whether
#           their queries name metrics the app exports is tested against a real scrape (PrometheusEndpointTests).
#   Docker  dockerfile-utils lint (npm) of the Dockerfile: instructions and their arguments; ANY warning fails.
#           What the image must do for the app is checked by FunctionApp.Tests/Infra/DockerfileTests.cs.
# Needs: dotnet (restores the Bicep CLI into .tools/ when missing), kubectl, node with `npm ci` done, yamllint,
# promtool (Debian package prometheus).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bicep_version=0.49.2
bicep=".tools/packages/azure.bicep.commandline.linux-x64/${bicep_version}/tools/bicep"
failures=()
checks=0
started=$SECONDS

fail() { failures+=("$1"); echo "FAIL: $1" >&2; }

# Runs a command; fails the check on a non-zero exit or on any output (warnings included).
# Usage: quiet_check NAME COMMAND...
quiet_check() {
  local name=$1 output status
  shift
  checks=$((checks + 1))
  output=$("$@" 2>&1)
  status=$?
  if [[ $status -ne 0 || -n $output ]]; then
    [[ -n $output ]] && printf '%s\n' "$output" >&2
    fail "$name (exit $status)"
  fi
}

if [[ ! -x $bicep ]]; then
  echo "Restoring Bicep CLI ${bicep_version} into .tools/ ..."
  if dotnet restore infra/tools/Tools.csproj --verbosity quiet >/dev/null && [[ -f $bicep ]]; then
    chmod +x "$bicep"
  else
    fail "restore Bicep CLI (dotnet restore infra/tools/Tools.csproj)"
  fi
fi

if [[ -x $bicep ]]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
  while IFS= read -r -d '' file; do
    quiet_check "bicep build $file" "$bicep" build "$file" --outfile "$out/$(basename "$file").json"
    quiet_check "bicep lint $file" "$bicep" lint "$file"
  done < <(find infra -name '*.bicep' -not -path '*/node_modules/*' -print0 | sort -z)
  while IFS= read -r -d '' file; do
    quiet_check "bicep build-params $file" "$bicep" build-params "$file" --outfile "$out/$(basename "$file").json"
  done < <(find infra -name '*.bicepparam' -print0 | sort -z)
fi

# Renders a kustomization and validates every object in it.
k8s_check() {
  local dir=$1 rendered status
  checks=$((checks + 1))
  if ! rendered=$(kubectl kustomize "$dir" 2>&1); then
    printf '%s\n' "$rendered" >&2
    fail "kubectl kustomize $dir"
    return
  fi
  printf '%s\n' "$rendered" | node infra/k8s/validate.mjs
  status=$?
  [[ $status -eq 0 ]] || fail "schema validation of $dir (exit $status)"
}

# The validator must keep rejecting a known-bad file with each message it lists as "# expect:".
validator_self_test() {
  local bad=infra/k8s/testdata/broken.yaml output expected
  checks=$((checks + 1))
  if output=$(node infra/k8s/validate.mjs "$bad" 2>&1); then
    fail "validate.mjs accepted $bad"
    return
  fi
  while IFS= read -r expected; do
    if ! grep -qF -- "$expected" <<<"$output"; then
      printf '%s\n' "$output" >&2
      fail "validate.mjs did not report '$expected' for $bad"
    fi
  done < <(sed -n 's/^# expect: //p' "$bad")
}

if [[ ! -d node_modules/kubernetes-models ]]; then
  fail "node_modules missing: run 'npm ci' first"
else
  k8s_check infra/k8s
  for overlay in infra/k8s/overlays/*/; do
    k8s_check "${overlay%/}"
  done
  validator_self_test
fi

monitoring=infra/k8s/components/prometheus
if ! command -v promtool >/dev/null; then
  fail "promtool missing: apt-get install prometheus"
else
  checks=$((checks + 1))
  promtool check rules "$monitoring/alerts.rules.yaml" >/dev/null || fail "promtool check rules $monitoring/alerts.rules.yaml"
  checks=$((checks + 1))
  (cd "$monitoring" && promtool test rules alerts.test.yaml >/dev/null) || fail "promtool test rules $monitoring/alerts.test.yaml"
fi
# The Operator's PrometheusRule and the plain rules file must not drift apart; the dashboard must be JSON.
quiet_check "PrometheusRule groups equal $monitoring/alerts.rules.yaml, dashboard.json parses" node --input-type=module -e '
  import { readFileSync } from "node:fs";
  import { parse } from "yaml";
  const [dir] = process.argv.slice(1);
  const plain = parse(readFileSync(`${dir}/alerts.rules.yaml`, "utf8")).groups;
  const crd = parse(readFileSync(`${dir}/prometheusrule.yaml`, "utf8")).spec.groups;
  if (JSON.stringify(plain) !== JSON.stringify(crd)) { console.log("prometheusrule.yaml groups differ from alerts.rules.yaml"); process.exit(1); }
  const panels = JSON.parse(readFileSync(`${dir}/dashboard.json`, "utf8")).panels;
  if (!Array.isArray(panels) || panels.length === 0) { console.log("dashboard.json has no panels"); process.exit(1); }
' "$monitoring"

if [[ ! -x node_modules/.bin/dockerfile-utils ]]; then
  fail "node_modules/.bin/dockerfile-utils missing: run 'npm ci' first"
else
  quiet_check "dockerfile-utils lint Dockerfile" node_modules/.bin/dockerfile-utils lint Dockerfile
fi

quiet_check "yamllint" yamllint -s -c .yamllint infra/k8s .yamllint

elapsed=$((SECONDS - started))
if [[ ${#failures[@]} -gt 0 ]]; then
  echo "validate-infra: FAILED ${#failures[@]} of ${checks} checks in ${elapsed}s: ${failures[*]}"
  exit 1
fi
echo "validate-infra: OK, ${checks} checks passed in ${elapsed}s (bicep build/lint/build-params, kustomize + schemas, promtool rules, yamllint, Dockerfile lint)"
