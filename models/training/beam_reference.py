#!/usr/bin/python3
"""Beam-search reference in PyTorch for the C# engine (transformers.js 4.3 has no beam search for Marian).

Usage: /usr/bin/python3 models/training/beam_reference.py [--beams 4] [--limit 500] [--model-dir DIR]
         [--checkpoint models/training/checkpoints/final.pt] [--out Engine.Tests/Fixtures/pytorch-beam4.jsonl]
--beams 1 records greedy decoding (marian.greedy) instead.

Rules (transformers' BeamSearchScorer, stated here so both sides agree): scores are sums of float32 log-softmax
values; pad (bad_words_ids) is never emitted and eos is forced at the last allowed step; only beam 0 is live at the
start; each step ranks the 2*beams best (beam, token) candidates; eos among the first `beams` finishes a hypothesis
scored sum / generated_len ** length_penalty (generated_len counts eos); other candidates fill the next beams; a
source is done when `beams` hypotheses are finished and the worst of them is at least best_candidate_sum /
(step + 1) ** length_penalty. The output is the best finished hypothesis, start token excluded.
"""
import argparse
import json
import os

import torch

from marian import Config, MarianMT, greedy
from train import Vocab, read_tsv, MODEL_DIR

HERE = os.path.dirname(os.path.abspath(__file__))


@torch.no_grad()
def beam_search(model, src_ids, beams, start, eos, pad, max_new, length_penalty=1.0):
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
        lp = torch.log_softmax(logits[:, -1, :].float(), dim=-1)
        lp[:, pad] = float("-inf")
        if step == max_new - 1:
            keep = lp[:, eos].clone()
            lp[:] = float("-inf")
            lp[:, eos] = torch.where(torch.isinf(keep), torch.zeros_like(keep), keep)
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
            if worst >= float(top_scores[0]) / ((step + 1) ** length_penalty):
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
    ckpt = torch.load(args.checkpoint)
    if "config" in ckpt:
        model = MarianMT(Config(**ckpt["config"]))
        model.load_state_dict(ckpt["state_dict"])
    else:  # a per-epoch checkpoint of train.py's default architecture
        model = MarianMT(Config(len(vocab.vocab), vocab.pad))
        model.load_state_dict(ckpt)
    model.eval()
    with open(os.path.join(args.model_dir, "generation_config.json"), encoding="utf-8") as f:
        gen = json.load(f)
    max_new = gen["max_length"] - 1
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as out:
        for i, (en, _) in enumerate(read_tsv("dev.tsv")[:args.limit]):
            src = vocab.encode(vocab.src, en)
            if args.beams == 1:
                ids = greedy(model, torch.tensor([src]), torch.ones(1, len(src), dtype=torch.long),
                             gen["decoder_start_token_id"], gen["eos_token_id"], gen["pad_token_id"], max_new)[0]
            else:
                ids = beam_search(model, src, args.beams, gen["decoder_start_token_id"], gen["eos_token_id"],
                                  gen["pad_token_id"], max_new, gen.get("length_penalty", 1.0))
            out.write(json.dumps({"index": i, "source": en, "ids": ids, "translation": vocab.decode(ids)},
                                 ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
