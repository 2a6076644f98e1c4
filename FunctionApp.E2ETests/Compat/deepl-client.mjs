// The official DeepL client (deepl-node, a devDependency) against the app's DeepL-compatible API, run by
// DeepLClientTests: translates text and an HTML fragment, reads usage and languages, and tries a wrong key; prints what it saw as one JSON line.
// Usage: DEEPL_SERVER_URL=http://127.0.0.1:<port>/api/deepl DEEPL_KEY=<key> node deepl-client.mjs
import * as deepl from 'deepl-node';

const serverUrl = process.env.DEEPL_SERVER_URL;
const options = { serverUrl, maxRetries: 0, minTimeout: 60000, sendPlatformInfo: false };
const translator = new deepl.Translator(process.env.DEEPL_KEY, options);

const one = await translator.translateText('Hello.', 'en', 'zh');
const many = await translator.translateText(['Thank you.', 'Good night.'], null, 'zh-HANS');
const html = await translator.translateText('<p>I like <b>green tea</b>.</p>', 'en', 'zh', { tagHandling: 'html' });
const usage = await translator.getUsage();
const sources = await translator.getSourceLanguages();
const targets = await translator.getTargetLanguages();
let wrongKey = null;
try {
  await new deepl.Translator('not-the-key-0123456789', options).getUsage();
} catch (error) {
  wrongKey = error.constructor.name;
}

console.log(JSON.stringify({
  one: { text: one.text, detectedSourceLang: one.detectedSourceLang, billedCharacters: one.billedCharacters },
  many: many.map((r) => ({ text: r.text, detectedSourceLang: r.detectedSourceLang })),
  html: html.text,
  usage: { count: usage.character.count, limit: usage.character.limit, anyLimitReached: usage.anyLimitReached() },
  sources: sources.map((l) => l.code),
  targets: targets.map((l) => l.code),
  wrongKey,
}));
