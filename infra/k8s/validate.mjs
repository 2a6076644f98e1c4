#!/usr/bin/env node
// Offline, strict validation of rendered Kubernetes manifests.
//   kubectl kustomize infra/k8s | node infra/k8s/validate.mjs
//   node infra/k8s/validate.mjs rendered.yaml [more.yaml ...]
//
// Every object is checked against the Kubernetes (kubernetes-models), KEDA (@kubernetes-models/keda) or
// Prometheus Operator (@kubernetes-models/prometheus-operator: PodMonitor, PrometheusRule) schema for its apiVersion/kind; an unknown apiVersion/kind is an error. The schemas accept unknown
// fields, which the API server (fieldValidation=Strict) and KEDA would reject or silently ignore, so each
// field is also probed: a field is known when the schema rejects a wrongly-typed value in its place.
// Finally, references between the objects (Deployment names, Service, ConfigMap, ServiceAccount,
// TriggerAuthentication, a PodMonitor's pods and port) must resolve. Exits 1 on any error, or when the input has no objects.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import * as k8s from "kubernetes-models";
import * as keda from "@kubernetes-models/keda";
import * as prometheusOperator from "@kubernetes-models/prometheus-operator";

const models = new Map();
(function collect(mod, depth) {
  for (const value of Object.values(mod)) {
    if (typeof value === "function" && typeof value.apiVersion === "string" && typeof value.kind === "string") {
      models.set(`${value.apiVersion}/${value.kind}`, value);
    } else if (value && typeof value === "object" && depth < 3) {
      collect(value, depth + 1);
    }
  }
})({ k8s, keda, prometheusOperator }, 0);

const pointer = (segments) => segments.map((s) => "/" + String(s).replace(/~/g, "~0").replace(/\//g, "~1")).join("");
const display = (p) => p.replace(/^\//, "") || "(root)";

function schemaErrors(Model, data) {
  try {
    new Model(structuredClone(data)).validate();
    return [];
  } catch (e) {
    if (!Array.isArray(e.errors)) return [{ instancePath: "", message: e.message }];
    return e.errors;
  }
}

function formatError(err) {
  const params = err.params ?? {};
  const detail =
    err.keyword === "required" ? ` '${params.missingProperty}'` :
    err.keyword === "enum" ? ` (${(params.allowedValues ?? []).join(", ")})` : "";
  const message = err.message ?? `must pass '${err.keyword}' (${JSON.stringify(params)})`;
  return `${display(err.instancePath ?? "")} ${message}${detail}`;
}

// Fields the schema does not know: replace each value with one of a different JSON type; a known field
// then fails validation at (or under) its own path, an unknown one does not.
function unknownFields(Model, doc) {
  const found = [];
  const setAt = (root, path, value) => {
    let node = root;
    for (const seg of path.slice(0, -1)) node = node[seg];
    node[path[path.length - 1]] = value;
  };
  const walk = (node, path) => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => walk(item, [...path, i]));
      return;
    }
    if (!node || typeof node !== "object") return;
    for (const [key, value] of Object.entries(node)) {
      if (value === null || value === undefined) continue;
      const keyPath = [...path, key];
      const probe = structuredClone(doc);
      setAt(probe, keyPath, typeof value === "boolean" ? [] : true);
      const p = pointer(keyPath);
      const rejected = schemaErrors(Model, probe).some(
        (e) => e.instancePath === p || (e.instancePath ?? "").startsWith(p + "/"),
      );
      if (!rejected) found.push(`${display(p)} is not a known field`);
      else walk(value, keyPath);
    }
  };
  // apiVersion/kind are fixed by the model class and already matched.
  const { apiVersion, kind, ...rest } = doc;
  walk(rest, []);
  return found;
}

// KEDA trigger metadata is a free-form string map in the CRD schema; check the keys of the scalers
// used here against the KEDA scaler docs (keda.sh/docs/scalers/azure-storage-queue).
const triggerMetadata = {
  "azure-queue": {
    required: ["queueName"],
    allowed: ["queueName", "queueLength", "queueLengthStrategy", "activationQueueLength", "connectionFromEnv",
      "accountName", "cloud", "endpointSuffix"],
  },
};

function kedaTriggers(doc) {
  const errors = [];
  if (doc.apiVersion !== "keda.sh/v1alpha1" || !["ScaledObject", "ScaledJob"].includes(doc.kind)) return errors;
  (doc.spec?.triggers ?? []).forEach((t, i) => {
    const known = triggerMetadata[t.type];
    if (!known) {
      errors.push(`spec/triggers/${i}/type '${t.type}' is not a scaler this validator knows; add its metadata keys`);
      return;
    }
    const metadata = t.metadata ?? {};
    for (const key of known.required) {
      if (!(key in metadata)) errors.push(`spec/triggers/${i}/metadata must have required property '${key}'`);
    }
    for (const key of Object.keys(metadata)) {
      if (!known.allowed.includes(key)) errors.push(`spec/triggers/${i}/metadata/${key} is not a known ${t.type} parameter`);
    }
  });
  return errors;
}

function crossReferences(objects) {
  const errors = [];
  const has = (kind, name, ns) => objects.some((o) => o.kind === kind && o.metadata?.name === name && (o.metadata?.namespace ?? "") === (ns ?? ""));
  for (const o of objects) {
    const ns = o.metadata?.namespace;
    const where = `${o.kind}/${o.metadata?.name}`;
    const need = (kind, name, what) => {
      if (name && !has(kind, name, ns)) errors.push(`${where}: ${what} refers to ${kind} '${name}', which is not in the rendered manifests`);
    };
    const pod = o.spec?.template?.spec;
    if (pod) {
      need("ServiceAccount", pod.serviceAccountName, "spec/template/spec/serviceAccountName");
      const selector = o.spec?.selector?.matchLabels ?? {};
      const labels = o.spec?.template?.metadata?.labels ?? {};
      for (const [k, v] of Object.entries(selector)) {
        if (labels[k] !== v) errors.push(`${where}: spec/selector/matchLabels/${k} does not match the pod template labels`);
      }
      for (const c of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
        for (const src of c.envFrom ?? []) {
          if (src.configMapRef && !src.configMapRef.optional) need("ConfigMap", src.configMapRef.name, `container ${c.name} envFrom`);
          if (src.secretRef && !src.secretRef.optional) need("Secret", src.secretRef.name, `container ${c.name} envFrom`);
        }
        for (const e of c.env ?? []) {
          const cm = e.valueFrom?.configMapKeyRef;
          if (cm && !cm.optional) need("ConfigMap", cm.name, `env ${e.name}`);
        }
        const ports = new Set((c.ports ?? []).map((p) => p.name).filter(Boolean));
        for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
          const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port;
          if (typeof port === "string" && !ports.has(port)) errors.push(`${where}: ${probe} uses port '${port}', which container ${c.name} does not name`);
        }
      }
    }
    if (o.kind === "Service" && o.spec?.selector) {
      const matches = objects.some((d) => d.kind === "Deployment" && (d.metadata?.namespace ?? "") === (ns ?? "") &&
        Object.entries(o.spec.selector).every(([k, v]) => d.spec?.template?.metadata?.labels?.[k] === v));
      if (!matches) errors.push(`${where}: spec/selector matches no Deployment's pod template`);
    }
    if (o.kind === "Ingress") {
      for (const rule of o.spec?.rules ?? []) {
        for (const path of rule.http?.paths ?? []) need("Service", path.backend?.service?.name, "an Ingress backend");
      }
    }
    if (o.kind === "HorizontalPodAutoscaler" || o.kind === "ScaledObject") {
      const ref = o.spec?.scaleTargetRef ?? {};
      need(ref.kind ?? "Deployment", ref.name, "spec/scaleTargetRef");
    }
    if (o.kind === "PodMonitor") {
      // Its selector must pick pods of a rendered Deployment, and each endpoint's port must be one they name.
      const { matchLabels = {}, matchExpressions = [] } = o.spec?.selector ?? {};
      const selects = (labels) => Object.entries(matchLabels).every(([k, v]) => labels[k] === v) &&
        matchExpressions.every((e) => e.operator === "In" ? e.values.includes(labels[e.key]) :
          e.operator === "NotIn" ? !e.values.includes(labels[e.key]) : e.operator === "Exists" ? e.key in labels : !(e.key in labels));
      const pods = objects.filter((d) => d.kind === "Deployment" && (d.metadata?.namespace ?? "") === (ns ?? "") &&
        selects(d.spec?.template?.metadata?.labels ?? {}));
      if (!pods.length) errors.push(`${where}: spec/selector matches no Deployment's pod template`);
      for (const endpoint of o.spec?.podMetricsEndpoints ?? []) {
        for (const d of pods) {
          const named = (d.spec.template.spec.containers ?? []).some((c) => (c.ports ?? []).some((p) => p.name === endpoint.port));
          if (!named) errors.push(`${where}: port '${endpoint.port}' is not named by Deployment/${d.metadata.name}'s containers`);
        }
      }
    }
    if (o.kind === "ScaledObject" || o.kind === "ScaledJob") {
      for (const t of o.spec?.triggers ?? []) {
        const auth = t.authenticationRef;
        if (auth) need(auth.kind ?? "TriggerAuthentication", auth.name, `trigger ${t.type} authenticationRef`);
      }
    }
  }
  return errors;
}

const files = process.argv.slice(2);
const inputs = files.length ? files.map((f) => [f, readFileSync(f, "utf8")]) : [["<stdin>", readFileSync(0, "utf8")]];

const errors = [];
const objects = [];
for (const [file, text] of inputs) {
  for (const [i, document] of parseAllDocuments(text).entries()) {
    for (const e of document.errors) errors.push(`${file} document ${i + 1}: YAML ${e.message}`);
    if (document.errors.length) continue;
    const doc = document.toJS();
    if (doc === null || doc === undefined) continue;
    if (typeof doc !== "object" || Array.isArray(doc)) {
      errors.push(`${file} document ${i + 1}: not a Kubernetes object`);
      continue;
    }
    const id = `${doc.kind ?? "?"}/${doc.metadata?.name ?? "?"}`;
    const Model = models.get(`${doc.apiVersion}/${doc.kind}`);
    if (!Model) {
      errors.push(`${id}: unknown apiVersion/kind '${doc.apiVersion}/${doc.kind}' (not a Kubernetes or KEDA schema)`);
      continue;
    }
    objects.push(doc);
    if (!doc.metadata?.name) errors.push(`${id}: metadata/name is required`);
    const found = schemaErrors(Model, doc).map(formatError);
    found.push(...unknownFields(Model, doc), ...kedaTriggers(doc));
    for (const message of found) errors.push(`${id}: ${message}`);
  }
}
errors.push(...crossReferences(objects));

if (!objects.length && !errors.length) errors.push("no Kubernetes objects in the input");
for (const e of errors) console.error(`error: ${e}`);
console.log(`validate.mjs: ${objects.length} objects, ${errors.length} errors`);
process.exit(errors.length ? 1 : 0);
