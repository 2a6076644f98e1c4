// The peer in the benchmark: transformers.js 4.3.1 (onnxruntime-node 1.30) on the same ONNX files and sentences.
//   node bench/transformersjs.mjs <modelDir> <sentences.tsv> [batch] [limit] [threads] [dtype]  → JSON lines, one per config
// dtype: which graph variant to load (fp32 default; q4, q8, int8, … load onnx/*_q4.onnx etc., as the app's Dtype).
// threads: ONNX Runtime intra-op threads (0 = its default), set equal to the C# side's for a like-for-like run.
// Uses the packages installed by models/training/transformersjs (npm ci there).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'models', 'training', 'transformersjs', 'package.json'));
const { env, AutoTokenizer, AutoModelForSeq2SeqLM } = await import(require.resolve('@huggingface/transformers'));

const [modelDir, input, batchArg, limitArg, threadsArg, dtypeArg] = process.argv.slice(2);
const dtype = dtypeArg ?? 'fp32';
const threads = Number(threadsArg ?? 0);
const batchSize = Number(batchArg ?? 32);
const sentences = readFileSync(input, 'utf8').split('\n').filter(l => l.trim()).map(l => l.split('\t')[0])
  .slice(0, Number(limitArg) > 0 ? Number(limitArg) : Infinity);
env.allowRemoteModels = false;
env.localModelPath = path.dirname(path.resolve(modelDir)) + path.sep;
const name = path.basename(path.resolve(modelDir));
const tokenizer = await AutoTokenizer.from_pretrained(name);
const model = await AutoModelForSeq2SeqLM.from_pretrained(name, {
  dtype, device: 'cpu', session_options: threads > 0 ? { intraOpNumThreads: threads } : {},
});
const eos = model.generation_config?.eos_token_id ?? 0;

// Time inside ONNX Runtime's run() (onnxruntime-common's InferenceSession, which transformers.js calls for every
// encoder and decoder step; it includes the copies of inputs and outputs between JS and native memory). It shows
// how much of the peer's time any engine running the same graphs could save at most.
let onnxMs = 0;
{
  const { InferenceSession } = require('onnxruntime-common');
  const run = InferenceSession.prototype.run;
  InferenceSession.prototype.run = async function (...args) {
    const t0 = performance.now();
    try {
      return await run.apply(this, args);
    } finally {
      onnxMs += performance.now() - t0;
    }
  };
}

async function run(batch) {
  const latencies = [];
  let tokens = 0;
  onnxMs = 0;
  const start = performance.now();
  for (let i = 0; i < sentences.length; i += batch) {
    const chunk = sentences.slice(i, i + batch);
    const t0 = performance.now();
    const inputs = await tokenizer(chunk, { padding: true });
    const out = await model.generate({ ...inputs, num_beams: 1, do_sample: false });
    const rows = out.tolist();
    tokenizer.batch_decode(out, { skip_special_tokens: true });
    latencies.push(performance.now() - t0);
    // Count tokens up to each row's first eos, as the C# engine reports them (batched rows run on after eos here).
    for (const row of rows) {
      const ids = row.slice(1).map(Number);
      const end = ids.indexOf(eos);
      tokens += end < 0 ? ids.length : end + 1;
    }
  }
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const p = q => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { engine: dtype === 'fp32' ? 'transformers.js' : `transformers.js ${dtype}`, dtype, beams: 1, batch, threads, sentences: sentences.length, seconds,
    sentencesPerSecond: sentences.length / seconds, tokensPerSecond: tokens / seconds, outputTokens: tokens,
    p50Ms: p(0.5), p90Ms: p(0.9), p99Ms: p(0.99), onnxRuntimeShare: onnxMs / 1000 / seconds };
}

// Warm-up, as the C# side does: first runs allocate and optimise.
await model.generate({ ...(await tokenizer(sentences.slice(0, 8), { padding: true })), num_beams: 1, do_sample: false });
for (const batch of [1, batchSize]) {
  console.log(JSON.stringify(await run(batch)));
}
