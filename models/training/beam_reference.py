#!/usr/bin/python3
"""Beam-search (and greedy) reference in PyTorch for the C# engine (transformers.js 4.3 has no beam search for Marian).

Usage: /usr/bin/python3 models/training/beam_reference.py [--beams 4] [--limit 500] [--model-dir DIR]
         [--checkpoint models/training/checkpoints/final.pt] [--out Engine.Tests/Fixtures/pytorch-beam4.jsonl]
--beams 1 records greedy decoding instead. --model-dir names the folder whose generation_config.json is applied
(the shipped model's by default). Without the checkpoint (git-ignored, absent from a fresh clone) the weights are
read back from the shipped model's ONNX export (onnx_weights.py), which holds the same tensors.

Rules (transformers' BeamSearchScorer, stated here so both sides agree): scores are sums of float32 log-softmax
values after the logits processors (below); only beam 0 is live at the start; each step ranks the 2*beams best
(beam, token) candidates; eos among the first `beams` finishes a hypothesis scored sum / generated_len **
length_penalty (generated_len counts eos); other candidates fill the next beams; a source is done when `beams`
hypotheses are finished and the worst of them is at least best_candidate_sum / (step + 1) ** length_penalty (or at
once with early_stopping). The output is the best finished hypothesis, start token excluded.

Logits processors, as transformers' generate builds them for a Marian model (generation/utils.py
_get_logits_processor and logits_process.py, transformers 5.x main, read at commit 00857b6c of logits_process.py):
in beam search they run on log_softmax(logits), in greedy search on the raw logits, in this order:
  repetition_penalty  (RepetitionPenaltyLogitsProcessor) every id in the decoder input so far, the start token
                      included, once: score < 0 -> score * penalty, else score / penalty
  no_repeat_ngram_size (NoRepeatNGramLogitsProcessor) over the decoder input (start token included): every token
                      that would complete an n-gram already present is -inf
  bad_words_ids       (NoBadWordsLogitsProcessor) entries equal to [eos] dropped; one-token entries always -inf,
                      longer ones ban their last token when the input ends with the others
  forced_eos_token_id (ForcedEOSTokenLogitsProcessor) at the last allowed step every score is -inf but eos's, which
                      is 0 (not eos's own log-probability)
  renormalize_logits  (LogitNormalization, last) log_softmax again
"""
import argparse
import json
import os

import torch

from marian import Config, MarianMT
from train import Vocab, read_tsv, MODEL_DIR

HERE = os.path.dirname(os.path.abspath(__file__))


class Processors:
    """transformers' logits processors for one generation_config.json (see the module docstring for the order)."""

    def __init__(self, gen, max_new):
        eos = gen["eos_token_id"]
        self.rep = float(gen.get("repetition_penalty") or 1.0)
        self.ngram = int(gen.get("no_repeat_ngram_size") or 0)
        bad = [list(b) for b in (gen.get("bad_words_ids") or []) if list(b) != [eos]]
        self.bad_single = [b[0] for b in bad if len(b) == 1]
        self.bad_multi = [b for b in bad if len(b) > 1]
        self.forced = gen.get("forced_eos_token_id")
        self.renorm = bool(gen.get("renormalize_logits", False))
        self.max_new = max_new

    def __call__(self, histories, scores, step):
        """histories: each row's decoder input so far (start token first); scores: [rows, vocab] float32."""
        scores = scores.clone()
        if self.rep != 1.0:
            for r, h in enumerate(histories):
                idx = torch.tensor(sorted(set(h)))
                s = scores[r, idx]
                scores[r, idx] = torch.where(s < 0, s * self.rep, s / self.rep)
        if self.ngram > 0:
            n = self.ngram
            for r, h in enumerate(histories):
                if len(h) < n:
                    continue
                prefix = h[len(h) + 1 - n:]
                for i in range(len(h) - n + 1):
                    if h[i:i + n - 1] == prefix:
                        scores[r, h[i + n - 1]] = float("-inf")
        if self.bad_single:
            scores[:, self.bad_single] = float("-inf")
        for b in self.bad_multi:
            for r, h in enumerate(histories):
                if len(b) <= len(h) and h[len(h) - (len(b) - 1):] == b[:-1]:
                    scores[r, b[-1]] = float("-inf")
        if self.forced is not None and step == self.max_new - 1:
            scores = torch.full_like(scores, float("-inf"))
            scores[:, self.forced] = 0
        if self.renorm:
            scores = torch.log_softmax(scores, dim=-1)
        return scores


@torch.no_grad()
def greedy_search(model, src_ids, start, eos, process):
    ids = torch.tensor([src_ids])
    mask = torch.ones_like(ids)
    enc = model.encode(ids, mask)
    out = []
    cur = torch.tensor([[start]])
    past = None
    for step in range(process.max_new):
        logits, past = model.decode(cur, enc, mask, past)
        scores = process([[start] + out], logits[:, -1, :].float(), step)
        token = int(scores[0].argmax())
        out.append(token)
        if token == eos:
            break
        cur = torch.tensor([[token]])
    return out


@torch.no_grad()
def beam_search(model, src_ids, beams, start, eos, process, length_penalty=1.0, early_stopping=False):
    max_new = process.max_new
    ids = torch.tensor([src_ids])
    mask = torch.ones_like(ids)
    enc = model.encode(ids, mask).repeat(beams, 1, 1)
    mask = mask.repeat(beams, 1)
    scores = torch.full((beams,), -1e9, dtype=torch.float32)
    scores[0] = 0
    tokens = [[] for _ in range(beams)]
    cur = torch.full((beams, 1), start, dtype=torch.long)
    past = None
    finished = []  # (score, tokens)

    def add(sum_lp, toks):
        score = sum_lp / (len(toks) ** length_penalty)
        if len(finished) < beams:
            finished.append((score, toks))
        else:
            worst = min(range(len(finished)), key=lambda i: finished[i][0])
            if score > finished[worst][0]:
                finished[worst] = (score, toks)

    for step in range(max_new):
        logits, past = model.decode(cur, enc, mask, past)
        lp = process([[start] + t for t in tokens], torch.log_softmax(logits[:, -1, :].float(), dim=-1), step)
        cand = (scores[:, None] + lp).view(-1)
        top_scores, top_idx = torch.topk(cand, 2 * beams)
        vocab = lp.shape[1]
        new_scores, new_tokens, from_beam = [], [], []
        for rank in range(2 * beams):
            if len(new_scores) == beams:
                break
            beam, token, s = int(top_idx[rank]) // vocab, int(top_idx[rank]) % vocab, float(top_scores[rank])
            if token == eos:
                if rank < beams and s != float("-inf"):
                    add(s, tokens[beam] + [token])
                continue
            new_scores.append(s)
            new_tokens.append(tokens[beam] + [token])
            from_beam.append(beam)
        if len(new_scores) < beams:
            break
        if len(finished) == beams:
            worst = min(f[0] for f in finished)
            if early_stopping or worst >= float(top_scores[0]) / ((step + 1) ** length_penalty):
                break
        order = torch.tensor(from_beam)
        past = [tuple(t[order] for t in layer) for layer in past]
        scores = torch.tensor(new_scores, dtype=torch.float32)
        tokens = new_tokens
        cur = torch.tensor([[t[-1]] for t in tokens])
    else:
        for k in range(beams):
            add(float(scores[k]), tokens[k])
    return max(finished, key=lambda f: f[0])[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beams", type=int, default=4)
    ap.add_argument("--limit", type=int, default=500)
    ap.add_argument("--checkpoint", default=os.path.join(HERE, "checkpoints", "final.pt"))
    ap.add_argument("--model-dir", default=MODEL_DIR, help="folder with generation_config.json")
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "Engine.Tests", "Fixtures", "pytorch-beam4.jsonl"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    vocab = Vocab(MODEL_DIR)
    if not os.path.exists(args.checkpoint):
        from onnx_weights import load_model
        print(f"{args.checkpoint} not found: weights from {MODEL_DIR}/onnx", flush=True)
        model = load_model(MODEL_DIR)
        ckpt = None
    else:
        ckpt = torch.load(args.checkpoint)
    if ckpt is None:
        pass
    elif "config" in ckpt:
        model = MarianMT(Config(**ckpt["config"]))
        model.load_state_dict(ckpt["state_dict"])
    else:  # a per-epoch checkpoint of train.py's default architecture
        model = MarianMT(Config(len(vocab.vocab), vocab.pad))
        model.load_state_dict(ckpt)
    model.eval()
    with open(os.path.join(args.model_dir, "generation_config.json"), encoding="utf-8") as f:
        gen = json.load(f)
    max_new = gen["max_length"] - 1
    process = Processors(gen, max_new)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as out:
        for i, (en, _) in enumerate(read_tsv("dev.tsv")[:args.limit]):
            src = vocab.encode(vocab.src, en)
            if args.beams == 1:
                ids = greedy_search(model, src, gen["decoder_start_token_id"], gen["eos_token_id"], process)
            else:
                ids = beam_search(model, src, args.beams, gen["decoder_start_token_id"], gen["eos_token_id"], process,
                                  gen.get("length_penalty", 1.0), gen.get("early_stopping", False) is True)
            out.write(json.dumps({"index": i, "source": en, "ids": ids, "translation": vocab.decode(ids)},
                                 ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
