#!/usr/bin/python3
"""Train the tiny Marian en->zh model on the Tatoeba split made by prepare.py.

Usage: /usr/bin/python3 models/training/train.py [--epochs 60] [--hours 1.2] [--patience 4]

Inverse-square-root schedule with warm-up, label smoothing 0.1, token-bucketed batches. Evaluates greedy dev BLEU
after each epoch, stops when it has not improved for --patience epochs (or at --epochs / --hours), then averages
the last checkpoints around the best one into checkpoints/final.pt (checkpoints/ is git-ignored).
"""
import argparse
import json
import os
import random
import time

import sentencepiece as spm
import torch
import torch.nn.functional as F

from marian import Config, MarianMT, greedy
from metrics import corpus_bleu, corpus_chrf

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_DIR = os.path.join(HERE, "..", "marian-tiny-en-zh")
CKPT = os.path.join(HERE, "checkpoints")


class Vocab:
    """Marian tokenisation: spm pieces mapped through vocab.json, unknown -> <unk>, </s> appended."""

    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "vocab.json"), encoding="utf-8") as f:
            self.vocab = json.load(f)
        self.inv = {i: p for p, i in self.vocab.items()}
        self.src = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "source.spm"))
        self.tgt = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "target.spm"))
        self.eos, self.unk, self.pad = self.vocab["</s>"], self.vocab["<unk>"], self.vocab["<pad>"]

    def encode(self, sp, text):
        return [self.vocab.get(p, self.unk) for p in sp.encode(text, out_type=str)] + [self.eos]

    def decode(self, ids):
        pieces = [self.inv[i] for i in ids if i not in (self.eos, self.pad)]
        return self.tgt.decode_pieces(pieces)


def read_tsv(name):
    with open(os.path.join(HERE, "data", name), encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t")[:2] for line in f if line.strip()]


def pad_batch(seqs, pad):
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
    return ids, mask


def batches(pairs, max_tokens, rng):
    """Sort by length within shuffled pools so batches hold similar lengths (little padding)."""
    idx = list(range(len(pairs)))
    rng.shuffle(idx)
    out = []
    for p in range(0, len(idx), 4096):
        pool = sorted(idx[p:p + 4096], key=lambda i: (len(pairs[i][0]), len(pairs[i][1])))
        cur, width = [], 0
        for i in pool:
            w = max(width, len(pairs[i][0]), len(pairs[i][1]) + 1)
            if cur and w * (len(cur) + 1) > max_tokens:
                out.append(cur)
                cur, w = [], max(len(pairs[i][0]), len(pairs[i][1]) + 1)
            cur.append(i)
            width = w
        if cur:
            out.append(cur)
    rng.shuffle(out)
    return out


def evaluate(model, vocab, pairs, batch=100):
    hyps = []
    for b in range(0, len(pairs), batch):
        src = [vocab.encode(vocab.src, en) for en, _ in pairs[b:b + batch]]
        ids, mask = pad_batch(src, vocab.pad)
        for out in greedy(model, ids, mask, vocab.pad, vocab.eos, vocab.pad, max_new=127):
            hyps.append(vocab.decode(out))
    refs = [zh for _, zh in pairs]
    return corpus_bleu(hyps, refs), corpus_chrf(hyps, refs), hyps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--hours", type=float, default=1.5)
    ap.add_argument("--patience", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=2048)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=1500)
    ap.add_argument("--average", type=int, default=5)
    ap.add_argument("--eval-from", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--resume", help="continue from this per-epoch checkpoint (weights only; Adam starts afresh)")
    ap.add_argument("--resume-epoch", type=int, default=0, help="epoch number of --resume; numbering continues")
    ap.add_argument("--resume-step", type=int, default=0, help="update count of --resume; the schedule continues")
    ap.add_argument("--checkpoints", default=CKPT, help="folder for per-epoch and final checkpoints")
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--ffn", type=int, default=1024)
    ap.add_argument("--heads", type=int, default=4)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    rng = random.Random(1)
    vocab = Vocab(MODEL_DIR)
    train = [(vocab.encode(vocab.src, en), vocab.encode(vocab.tgt, zh)) for en, zh in read_tsv("train.tsv")]
    dev = read_tsv("dev.tsv")
    config = Config(len(vocab.vocab), vocab.pad, d_model=args.d_model, encoder_layers=args.layers,
                    decoder_layers=args.layers, heads=args.heads, ffn_dim=args.ffn)
    model = MarianMT(config)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"parameters {n_params:,} train pairs {len(train)}", flush=True)
    if args.resume:
        model.load_state_dict(torch.load(args.resume))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.98), eps=1e-9)
    offset = args.resume_step
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + offset + 1) / args.warmup, (args.warmup / (s + offset + 1)) ** 0.5))
    ckpt_dir = args.checkpoints
    os.makedirs(ckpt_dir, exist_ok=True)
    history, best, start, step = [], (-1.0, 0), time.time(), args.resume_step
    for epoch in range(args.resume_epoch + 1, args.epochs + 1):
        model.train()
        t0, total_loss, total_tok = time.time(), 0.0, 0
        for batch in batches(train, args.max_tokens, rng):
            src, tgt = pad_batch([train[i][0] for i in batch], vocab.pad)
            labels, _ = pad_batch([train[i][1] for i in batch], vocab.pad)
            # decoder input is the labels shifted right behind the start token (= pad, as in Marian).
            dec_in = torch.cat([torch.full((labels.shape[0], 1), vocab.pad), labels[:, :-1]], dim=1)
            logits = model(src, tgt, dec_in)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                   ignore_index=vocab.pad, label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            n = int((labels != vocab.pad).sum())
            total_loss += float(loss) * n
            total_tok += n
        # Early epochs cannot be best, and an untrained model decodes to the length limit: skip their evaluation.
        bleu, chrf = evaluate(model, vocab, dev)[:2] if epoch >= args.eval_from else (0.0, 0.0)
        elapsed = time.time() - start
        history.append({"epoch": epoch, "loss": total_loss / total_tok, "dev_bleu": bleu, "dev_chrf": chrf,
                        "epoch_s": time.time() - t0, "elapsed_s": elapsed, "step": step})
        print(json.dumps(history[-1]), flush=True)
        torch.save(model.state_dict(), os.path.join(ckpt_dir, f"epoch{epoch}.pt"))
        if epoch >= args.eval_from and bleu > best[0] or best[1] == 0 or epoch < args.eval_from:
            best = (bleu, epoch)  # before evaluation starts, the latest epoch stands in for the best
        if epoch - best[1] >= args.patience or elapsed > args.hours * 3600:
            break
    # Average the checkpoints ending at the best epoch (classic Marian/fairseq smoothing of the last updates).
    last = best[1]
    epochs = list(range(max(1, last - args.average + 1), last + 1))
    states = [torch.load(os.path.join(ckpt_dir, f"epoch{e}.pt")) for e in epochs]
    avg = {k: sum(s[k].float() for s in states) / len(states) for k in states[0]}
    model.load_state_dict(avg)
    bleu, chrf, _ = evaluate(model, vocab, dev)
    single = torch.load(os.path.join(ckpt_dir, f"epoch{last}.pt"))
    if bleu < best[0]:
        model.load_state_dict(single)
        bleu, chrf, _ = evaluate(model, vocab, dev)
        epochs = [last]
    torch.save({"state_dict": model.state_dict(), "config": vars(config), "averaged_epochs": epochs,
                "history": history, "dev_bleu": bleu, "dev_chrf": chrf,
                "train_seconds": time.time() - start, "parameters": n_params},
               os.path.join(ckpt_dir, "final.pt"))
    print(json.dumps({"final_dev_bleu": bleu, "final_dev_chrf": chrf, "averaged_epochs": epochs}), flush=True)


if __name__ == "__main__":
    main()
