// Records the source ids transformers.js gives each line of a text file (one text per line), with a model folder's
// tokenizer.json, so the C# tests can hold tokenizer.json to source.spm (see make_fixtures.sh).
//
//   node source-ids.mjs <modelDir> <texts.txt> <out.jsonl>
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { env, AutoTokenizer } from '@huggingface/transformers';

const [modelDir, textsPath, out] = process.argv.slice(2).map(p => path.resolve(p));
env.allowRemoteModels = false;
env.localModelPath = path.dirname(modelDir) + path.sep;
const tokenizer = await AutoTokenizer.from_pretrained(path.basename(modelDir));
const texts = readFileSync(textsPath, 'utf8').split('\n').filter(l => l.length > 0);
const lines = texts.map(text => JSON.stringify({ text, transformersjs: Array.from(tokenizer(text).input_ids.data, Number) }));
writeFileSync(out, lines.join('\n') + '\n');
console.log(`wrote ${lines.length} lines to ${out}`);
