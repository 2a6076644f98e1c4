"""Writes the JSON files of an opus-mt style model folder: config.json, generation_config.json,
tokenizer_config.json, special_tokens_map.json and tokenizer.json (the fast tokenizer transformers.js reads)."""
import base64
import json
import os
import re

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as spm_pb2

MAX_LENGTH = 128  # generation limit, counting the decoder start token as transformers does


def _dump(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


# Code points the source normaliser deletes (nmt_nfkc drops C0 controls; transformers.js' Precompiled does too), so
# no normalised input text contains them: a vocabulary entry that holds one can never match text by accident.
CODE_MARK = "\u0001"
TARGET_MARK = "\u0002"
ZWJ_STAND_IN = "\ue000"
LANGUAGE_CODE = re.compile(r">>\w+<<", re.ASCII)


def language_codes(vocab):
    """Target-language tokens (>>cmn_Hans<<) in vocab.json, as transformers' MarianTokenizer recognises them."""
    return sorted(p for p in vocab if LANGUAGE_CODE.fullmatch(p))


def tokenizer_json(model_dir, vocab):
    """A Unigram tokenizer that segments exactly as source.spm does, with vocab.json's ids (what transformers'
    MarianTokenizer does: source.spm splits the text, vocab.json numbers the pieces).

    The Unigram vocabulary is a list indexed by id, so every vocab.json id needs an entry, and each entry is also a
    candidate piece for segmentation. Only source.spm's pieces, with its scores, may match text:
    - a target-only piece is stored behind TARGET_MARK, which no normalised text contains, and the decoder removes
      the mark, so generated ids still decode to the piece;
    - a language code (>>cmn_Hans<<) is stored as "▁" CODE_MARK code. A normaliser rule per code puts CODE_MARK before
      the code only when it starts the text, so a leading code becomes that one token (score 0 outscores any
      segmentation of it) and the rest of the text is segmented as source.spm would segment it on its own; a code
      anywhere else is segmented as plain text. transformers.js 4.3's MarianTokenizer language-code rule is never
      called (its encode goes straight to the fast tokenizer), so the rule has to live here."""
    proto = spm_pb2.ModelProto()
    with open(os.path.join(model_dir, "source.spm"), "rb") as f:
        proto.ParseFromString(f.read())
    normal = spm_pb2.ModelProto.SentencePiece.NORMAL
    user = spm_pb2.ModelProto.SentencePiece.USER_DEFINED
    scores = {p.piece: p.score for p in proto.pieces if p.type in (normal, user)}
    missing = [p for p in scores if p not in vocab]
    if missing:
        raise ValueError(f"source.spm pieces missing from vocab.json (MarianTokenizer maps them to <unk>, which a "
                         f"Unigram tokenizer cannot express): {missing[:10]}")
    sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "source.spm"))
    if sp.encode(CODE_MARK + TARGET_MARK, out_type=str) not in ([], ["\u2581"]):
        raise ValueError("source.spm's normaliser keeps control characters; the marks in tokenizer.json need it to "
                         "delete them")
    special = {"</s>", "<unk>", "<pad>"}
    codes = language_codes(vocab)
    floor = min(scores.values()) - 10.0
    entries = [None] * len(vocab)
    for piece, i in vocab.items():
        if piece in special:
            entries[i] = [piece, 0.0]
        elif piece in codes:
            entries[i] = ["\u2581" + CODE_MARK + piece, 0.0]
        elif piece in scores:
            entries[i] = [piece, scores[piece]]
        elif len(piece) == 1 and piece != "\u2581":
            # A character source.spm does not know: spm_encode gives it as an unknown piece of its own and
            # MarianTokenizer looks that text up in vocab.json, so this id is what it gets (when the character
            # stands alone; see models/training/README.md for runs of unknown characters).
            entries[i] = [piece, floor]
        else:
            entries[i] = [TARGET_MARK + piece, floor]
    charsmap = base64.b64encode(proto.normalizer_spec.precompiled_charsmap).decode("ascii")
    special_ids = [("</s>", vocab["</s>"]), ("<unk>", vocab["<unk>"]), ("<pad>", vocab["<pad>"])]
    code_rules = [{"type": "Replace", "pattern": {"Regex": "\\A\\s*" + code + "\\s*"}, "content": CODE_MARK + code + " "}
                  for code in codes]
    metaspace = {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True, "prepend_scheme": "always",
                 "split": False}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for t, i in special_ids],
        "normalizer": {"type": "Sequence", "normalizers": [
            # transformers.js approximates the charsmap with NFKC and turns U+200D (the joiner inside emoji
            # sequences) into a space, where the charsmap keeps it: carry it through under a private-use stand-in.
            {"type": "Replace", "pattern": {"String": "\u200d"}, "content": ZWJ_STAND_IN},
            {"type": "Precompiled", "precompiled_charsmap": charsmap},
            {"type": "Replace", "pattern": {"String": ZWJ_STAND_IN}, "content": "\u200d"},
            *code_rules,
            {"type": "Strip", "strip_left": True, "strip_right": True},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ]},
        "pre_tokenizer": metaspace,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {"</s>": {"id": "</s>", "ids": [vocab["</s>"]], "tokens": ["</s>"]}},
        },
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": CODE_MARK}, "content": ""},
            {"type": "Replace", "pattern": {"String": TARGET_MARK}, "content": ""},
            metaspace,
        ]},
        "model": {"type": "Unigram", "unk_id": vocab["<unk>"], "vocab": entries, "byte_fallback": False},
    }


def write_model_files(model_dir, config):
    with open(os.path.join(model_dir, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    pad = vocab["<pad>"]
    hf = config.hf_config()
    hf["max_length"] = MAX_LENGTH
    _dump(os.path.join(model_dir, "config.json"), hf)
    _dump(os.path.join(model_dir, "generation_config.json"), {
        "bad_words_ids": [[pad]], "bos_token_id": 0, "decoder_start_token_id": pad, "eos_token_id": 0,
        "forced_eos_token_id": 0, "max_length": MAX_LENGTH, "num_beams": 4, "pad_token_id": pad,
        "length_penalty": 1.0, "early_stopping": False, "transformers_version": "4.46.0"})
    _dump(os.path.join(model_dir, "tokenizer_config.json"), {
        "tokenizer_class": "MarianTokenizer", "source_lang": "en", "target_lang": "zh",
        "model_max_length": 512, "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
        "separate_vocabs": False, "sp_model_kwargs": {}, "clean_up_tokenization_spaces": False})
    _dump(os.path.join(model_dir, "special_tokens_map.json"),
          {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"})
    _dump(os.path.join(model_dir, "tokenizer.json"), tokenizer_json(model_dir, vocab))
    # Sanity: the spm models load.
    for name in ("source.spm", "target.spm"):
        spm.SentencePieceProcessor(model_file=os.path.join(model_dir, name))
