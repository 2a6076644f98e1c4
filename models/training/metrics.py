"""Corpus BLEU with sacreBLEU's `zh` tokenisation and chrF (n=6, beta=2), re-implemented because PyPI
(sacrebleu) is not reachable here. Both follow sacreBLEU 2.x defaults: BLEU with exp smoothing, chrF with
whitespace removed and no word n-grams."""
import math
import re
from collections import Counter

# sacrebleu.tokenizers.tokenizer_zh._UCODE_RANGES: CJK blocks and CJK punctuation.
_UCODE_RANGES = (
    ("\u3400", "\u4db5"), ("\u4e00", "\u9fa5"), ("\u9fa6", "\u9fbb"), ("\uf900", "\ufa2d"),
    ("\ufa30", "\ufa6a"), ("\ufa70", "\ufad9"), ("\U00020000", "\U0002a6d6"), ("\U0002f800", "\U0002fa1d"),
    ("\uff00", "\uffef"), ("\u2e80", "\u2eff"), ("\u3000", "\u303f"), ("\u31c0", "\u31ef"),
    ("\u2f00", "\u2fdf"), ("\u2ff0", "\u2fff"), ("\u3100", "\u312f"), ("\u31a0", "\u31bf"),
    ("\ufe10", "\ufe1f"), ("\ufe30", "\ufe4f"), ("\u2600", "\u26ff"), ("\u2700", "\u27bf"),
    ("\u3200", "\u32ff"), ("\u3300", "\u33ff"),
)


def _is_chinese_char(c):
    return any(lo <= c <= hi for lo, hi in _UCODE_RANGES)


_13A = [
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),
]


def _tokenize_13a_core(line):
    for pattern, repl in _13A:
        line = pattern.sub(repl, line)
    return " ".join(line.split())


def tokenize_zh(line):
    line = line.strip()
    out = ""
    for c in line:
        out += f" {c} " if _is_chinese_char(c) else c
    return _tokenize_13a_core(out)


def _ngrams(tokens, n):
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(hyps, refs):
    correct, total = [0] * 4, [0] * 4
    hyp_len = ref_len = 0
    for h, r in zip(hyps, refs):
        ht, rt = tokenize_zh(h).split(), tokenize_zh(r).split()
        hyp_len += len(ht)
        ref_len += len(rt)
        for n in range(1, 5):
            hc, rc = _ngrams(ht, n), _ngrams(rt, n)
            correct[n - 1] += sum(min(c, rc[g]) for g, c in hc.items())
            total[n - 1] += max(0, len(ht) - n + 1)
    # exp smoothing: the k-th zero-match order gets 1 / 2^k.
    log_p, k = 0.0, 1
    for n in range(4):
        if total[n] == 0:
            return 0.0
        if correct[n] == 0:
            k *= 2
            p = 100.0 / (k * total[n])
        else:
            p = 100.0 * correct[n] / total[n]
        log_p += math.log(p) / 4
    bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / max(hyp_len, 1))
    return bp * math.exp(log_p)


def corpus_chrf(hyps, refs, order=6, beta=2.0):
    # sacreBLEU 2.x sums the statistics over the corpus, then averages the per-order F-scores.
    stats = [[0, 0, 0] for _ in range(order)]  # hyp count, ref count, matches
    for h, r in zip(hyps, refs):
        hc, rc = h.replace(" ", ""), r.replace(" ", "")
        for n in range(1, order + 1):
            hn = Counter(hc[i:i + n] for i in range(len(hc) - n + 1))
            rn = Counter(rc[i:i + n] for i in range(len(rc) - n + 1))
            stats[n - 1][0] += sum(hn.values())
            stats[n - 1][1] += sum(rn.values())
            stats[n - 1][2] += sum(min(c, rn[g]) for g, c in hn.items())
    eps = 1e-16
    factor = beta ** 2
    score, effective = 0.0, 0
    for hyp_total, ref_total, match in stats:
        prec = match / hyp_total if hyp_total > 0 else eps
        rec = match / ref_total if ref_total > 0 else eps
        denom = factor * prec + rec
        score += (1 + factor) * prec * rec / denom if denom > 0 else eps
        effective += 1 if hyp_total > 0 and ref_total > 0 else 0
    return 0.0 if effective == 0 else 100.0 * score / effective
