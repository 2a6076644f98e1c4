// Conformance check of a model folder (scripts/check-model.sh runs it): for each graph variant present in the folder
// (fp32, fp16, q8 = _quantized, int8, uint8, q4, q4f16, bnb4, as transformers.js names the files), the C# engine
// (tools/Translate's translate.dll) and transformers.js translate a bundled sentence set greedily, one sentence at a
// time, and must give identical source ids and output ids. For Helsinki-NLP/opus-mt-en-zh (recognised by its
// config and its >>cmn_Hans<< language tokens) the engine must also give transformers' own test translation.
// Exit code 0: everything identical; 1: a mismatch or a variant that did not load; 2: bad arguments.
//
//   node check-model.mjs --translate <translate.dll> <modelDir> [--sentences FILE] [--dtype fp32,q4] [--json FILE]
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { env, AutoTokenizer, AutoModelForSeq2SeqLM } from '@huggingface/transformers';

const here = path.dirname(fileURLToPath(import.meta.url));
// transformers.js' dtype names and file suffixes (Engine/Loading/ModelDtype.cs knows the ones the engine loads).
const VARIANTS = [['fp32', ''], ['fp16', '_fp16'], ['q8', '_quantized'], ['int8', '_int8'], ['uint8', '_uint8'],
  ['q4', '_q4'], ['q4f16', '_q4f16'], ['bnb4', '_bnb4']];
// transformers' tests/models/marian/test_modeling_marian.py, TestMarian_en_zh (num_beams 2, max_length 128).
const GOLDEN = { source: 'My name is Wolfgang and I live in Berlin', translation: '我叫沃尔夫冈 我住在柏林', beams: 2, maxLength: 128 };

function usage(message) {
  console.error(`check-model: ${message}\nusage: check-model.sh <modelDir> [--sentences FILE] [--dtype fp32,q4,...] [--json FILE]`);
  process.exit(2);
}

const args = process.argv.slice(2);
const options = { sentences: path.join(here, '..', '..', 'conformance', 'sentences.txt') };
const positional = [];
for (let i = 0; i < args.length; i++) {
  if (args[i].startsWith('--')) {
    if (i + 1 >= args.length) usage(`${args[i]} needs a value`);
    options[args[i].slice(2)] = args[++i];
  } else {
    positional.push(args[i]);
  }
}
if (positional.length !== 1) usage('one model folder is needed');
if (!options.translate || !existsSync(options.translate)) usage(`translate.dll not found: ${options.translate}`);
const modelDir = path.resolve(positional[0]);
if (!existsSync(path.join(modelDir, 'config.json'))) usage(`${modelDir} has no config.json`);
if (!existsSync(options.sentences)) usage(`sentence file not found: ${options.sentences}`);

/** Where the variant's graphs are: onnx/ (transformers.js' default) or the folder itself; null when absent. */
function variantFolder(suffix) {
  for (const sub of ['onnx', '']) {
    const dir = path.join(modelDir, sub);
    const has = name => existsSync(path.join(dir, `${name}${suffix}.onnx`));
    if (has('encoder_model') && (has('decoder_model_merged') || (has('decoder_model') && has('decoder_with_past_model')))) {
      return sub;
    }
  }
  return null;
}

const wanted = options.dtype ? options.dtype.split(',') : null;
for (const d of wanted ?? []) {
  if (!VARIANTS.some(([name]) => name === d)) usage(`unknown dtype ${d} (${VARIANTS.map(v => v[0]).join(', ')})`);
}
const variants = VARIANTS.filter(([name]) => !wanted || wanted.includes(name))
  .map(([name, suffix]) => ({ name, suffix, subfolder: variantFolder(suffix) }))
  .filter(v => v.subfolder !== null);
if (variants.length === 0) usage(`no graph variant${wanted ? ` of ${wanted.join(', ')}` : ''} in ${modelDir}`);

const sentences = readFileSync(options.sentences, 'utf8').split('\n').map(l => l.split('\t')[0].trim()).filter(l => l);
const config = JSON.parse(readFileSync(path.join(modelDir, 'config.json'), 'utf8'));
const vocab = JSON.parse(readFileSync(path.join(modelDir, 'vocab.json'), 'utf8'));
const isOpusEnZh = config.model_type === 'marian' && config.vocab_size === 65001 && config.d_model === 512
  && config.encoder_layers === 6 && config.decoder_layers === 6 && config.decoder_start_token_id === 65000
  && '>>cmn_Hans<<' in vocab;

/** Runs translate.dll's translate verb on the texts; returns its JSON lines (source, translation, ids). */
function engine(dtype, texts, extra = []) {
  // Guardrails off: transformers.js has none (the app's defaults only cut runaway outputs short).
  const run = spawnSync('dotnet', [options.translate, 'translate', '--model', modelDir, '--dtype', dtype, '--batch', '1',
    '--guardrails', 'off', ...extra],
    { input: texts.join('\n') + '\n', encoding: 'utf8', maxBuffer: 1 << 28 });
  if (run.status !== 0) {
    throw new Error(`the engine failed (exit ${run.status}): ${(run.stderr || run.error?.message || '').trim()}`);
  }
  return run.stdout.split('\n').filter(l => l.trim()).map(l => JSON.parse(l));
}

env.allowRemoteModels = false;
env.localModelPath = path.dirname(modelDir) + path.sep;
const name = path.basename(modelDir);
const console_warn = console.warn;
console.warn = (...a) => { if (!String(a[0]).includes('not yet supported by Hugging Face')) console_warn(...a); };
const tokenizer = await AutoTokenizer.from_pretrained(name);

const shown = path.relative(process.cwd(), modelDir) || '.';
const report = { model: modelDir, sentences: sentences.length, opusMtEnZh: isOpusEnZh, variants: [] };
let failed = false;
console.log(`${shown}: ${sentences.length} sentences, greedy, one at a time; variants: ${variants.map(v => v.name).join(', ')}`);
for (const v of variants) {
  const row = { dtype: v.name, identical: 0, mismatches: [] };
  report.variants.push(row);
  try {
    const model = await AutoModelForSeq2SeqLM.from_pretrained(name, { dtype: v.name, device: 'cpu', subfolder: v.subfolder });
    const ours = engine(v.name, sentences, ['--beams', '1']);
    if (ours.length !== sentences.length) throw new Error(`the engine wrote ${ours.length} lines for ${sentences.length} sentences`);
    for (const [i, source] of sentences.entries()) {
      const inputs = await tokenizer(source);
      const sourceIds = Array.from(inputs.input_ids.data, Number);
      const output = await model.generate({ ...inputs, num_beams: 1, do_sample: false });
      const ids = Array.from(output.data, Number).slice(1); // the decoder start token
      const same = JSON.stringify(ids) === JSON.stringify(ours[i].ids);
      if (same) {
        row.identical++;
      } else {
        const first = ids.findIndex((id, k) => id !== ours[i].ids[k]);
        row.mismatches.push({ index: i, source, sourceIds, transformersJs: ids, engine: ours[i].ids,
          firstDifference: first < 0 ? Math.min(ids.length, ours[i].ids.length) : first });
      }
    }
    row.example = { source: sentences[0], translation: ours[0].translation };
    await model.dispose();
  } catch (e) {
    row.error = e.message.split('\n')[0];
  }
  const ok = !row.error && row.mismatches.length === 0;
  failed ||= !ok;
  console.log(`${ok ? 'OK  ' : 'FAIL'} ${v.name.padEnd(6)} ${row.error ? `not compared: ${row.error}`
    : `${row.identical}/${sentences.length} identical output ids (C# engine = transformers.js)`}`);
  for (const m of row.mismatches.slice(0, 5)) {
    console.log(`       #${m.index} "${m.source}": first difference at output position ${m.firstDifference}\n`
      + `         transformers.js ${JSON.stringify(m.transformersJs.slice(0, 24))}\n`
      + `         C# engine       ${JSON.stringify(m.engine.slice(0, 24))}`);
  }
}

if (isOpusEnZh) {
  const fp32 = variants.find(v => v.name === 'fp32');
  const golden = { ...GOLDEN };
  report.golden = golden;
  if (!fp32) {
    golden.error = 'no fp32 variant to check it on';
  } else {
    try {
      const [t] = engine('fp32', [GOLDEN.source], ['--beams', String(GOLDEN.beams), '--max-new-tokens', String(GOLDEN.maxLength - 1)]);
      golden.engine = t.translation;
    } catch (e) {
      golden.error = e.message.split('\n')[0];
    }
  }
  const ok = golden.engine?.trim() === GOLDEN.translation;
  failed ||= !ok;
  console.log(`${ok ? 'OK  ' : 'FAIL'} golden: "${GOLDEN.source}" (fp32, ${GOLDEN.beams} beams, as transformers' test) -> `
    + `${golden.error ? `not checked: ${golden.error}` : `"${golden.engine}"`}, expected "${GOLDEN.translation}"`);
} else {
  console.log('     (not Helsinki-NLP/opus-mt-en-zh by its config and vocab: no golden translation to check)');
}
if (options.json) writeFileSync(options.json, JSON.stringify(report, null, 2) + '\n');
console.log(failed ? 'FAILED' : 'PASSED');
process.exit(failed ? 1 : 0);
