// transformers.js's side of bench/opus-shape.sh: load time, peak (VmHWM) and resident (VmRSS) memory after loading
// the model and after translating a few sentences greedy. One JSON line, fields as `translate memory` prints them.
//   node bench/transformersjs-memory.mjs <modelDir> [sentences.tsv] [threads]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'models', 'training', 'transformersjs', 'package.json'));
const { env, AutoTokenizer, AutoModelForSeq2SeqLM } = await import(require.resolve('@huggingface/transformers'));

const [modelDir, input, threadsArg] = process.argv.slice(2);
const threads = Number(threadsArg ?? 0);
const sentences = input
  ? readFileSync(input, 'utf8').split('\n').filter(l => l.trim()).map(l => l.split('\t')[0]).slice(0, 8)
  : ['The weather is nice today.', 'Where is the station?'];
env.allowRemoteModels = false;
env.localModelPath = path.dirname(path.resolve(modelDir)) + path.sep;
const name = path.basename(path.resolve(modelDir));

function status() {
  const text = readFileSync('/proc/self/status', 'utf8');
  const field = key => Number(text.match(new RegExp(`^${key}:\\s+(\\d+)`, 'm'))[1]) * 1024 / 1e6;
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

const t0 = performance.now();
const tokenizer = await AutoTokenizer.from_pretrained(name);
const model = await AutoModelForSeq2SeqLM.from_pretrained(name, {
  dtype: 'fp32', device: 'cpu', session_options: threads > 0 ? { intraOpNumThreads: threads } : {},
});
const loadSeconds = (performance.now() - t0) / 1000;
const afterLoad = status();
await model.generate({ ...(await tokenizer(sentences, { padding: true })), num_beams: 1, do_sample: false });
const afterTranslate = status();
console.log(JSON.stringify({
  engine: 'transformers.js', loadSeconds, rssAfterLoadMB: afterLoad.rss, peakAfterLoadMB: afterLoad.peak,
  rssAfterTranslateMB: afterTranslate.rss, peakMB: afterTranslate.peak,
}));
