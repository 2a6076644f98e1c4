// Records what transformers.js (an implementation nobody on this team wrote) does with the shipped model, so the
// C# engine is held to it: source token ids, greedy output ids and text for every dev sentence.
//
//   cd models/training/transformersjs && ONNXRUNTIME_NODE_INSTALL=skip npm ci && node fixtures.mjs [modelDir] [out] [dtype] [sentences]
//
// Defaults: ../../marian-tiny-en-zh, ../../../Engine.Tests/Fixtures/transformersjs-greedy.jsonl and fp32; a dtype
// (q4, q4f16, q8, int8, uint8, bnb4, fp16) loads that variant's files (onnx/encoder_model_q4.onnx, …), as the app's Dtype does.
// sentences: a file of one sentence a line (or a TSV whose first column is the sentence); default the dev split.
// Each sentence is generated on its own (batch 1): transformers.js' batched generate keeps appending tokens to
// sequences that already ended, so batch 1 is its exact behaviour. transformers.js 4.3 has no beam search
// (its BeamSearchSampler keeps only the top token), so beam fixtures come from models/training/beam_reference.py.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { env, AutoTokenizer, AutoModelForSeq2SeqLM } from '@huggingface/transformers';

const here = path.dirname(fileURLToPath(import.meta.url));
const modelDir = path.resolve(process.argv[2] ?? path.join(here, '..', '..', 'marian-tiny-en-zh'));
const out = path.resolve(process.argv[3] ?? path.join(here, '..', '..', '..', 'Engine.Tests', 'Fixtures', 'transformersjs-greedy.jsonl'));
const dtype = process.argv[4] ?? 'fp32';
const devPath = path.resolve(process.argv[5] ?? path.join(here, '..', 'data', 'dev.tsv'));

env.allowRemoteModels = false;
env.localModelPath = path.dirname(modelDir) + path.sep;
const name = path.basename(modelDir);
const tokenizer = await AutoTokenizer.from_pretrained(name);
const model = await AutoModelForSeq2SeqLM.from_pretrained(name, { dtype, device: 'cpu' });

const sentences = readFileSync(devPath, 'utf8').split('\n').filter(l => l.trim()).map(l => l.split('\t')[0]);
const lines = [];
for (const [i, source] of sentences.entries()) {
  const inputs = await tokenizer(source);
  const sourceIds = Array.from(inputs.input_ids.data, Number);
  const output = await model.generate({ ...inputs, num_beams: 1, do_sample: false });
  const ids = Array.from(output.data, Number).slice(1); // drop the decoder start token
  const translation = tokenizer.decode(ids, { skip_special_tokens: true });
  lines.push(JSON.stringify({ index: i, source, sourceIds, ids, translation }));
}
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, lines.join('\n') + '\n');
console.log(`wrote ${lines.length} fixtures (${dtype}) to ${out}`);
