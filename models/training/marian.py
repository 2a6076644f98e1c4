"""A Marian encoder-decoder in plain PyTorch with Hugging Face MarianMTModel's parameter names and semantics:
sinusoidal positions (sin | cos halves), embeddings scaled by sqrt(d_model), post-norm, swish, embeddings shared
by encoder, decoder and lm_head, and a final_logits_bias buffer. The state dict loads into MarianMTModel.
The defaults are the model trained here; convert_checkpoint.py sets the rest from a checkpoint's config.json
(other activations, unscaled embeddings, encoder and decoder embeddings of their own, an untied lm_head, per-stack
head counts and FFN widths)."""
import math

import torch
import torch.nn.functional as F
from torch import nn


def _gelu_tanh(x):
    # transformers' gelu_new / gelu_pytorch_tanh, written out so that the ONNX export is plain arithmetic.
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


# transformers' ACT2FN names this model can run; convert_checkpoint.py refuses any other.
ACTIVATIONS = {
    "swish": F.silu, "silu": F.silu, "gelu": F.gelu, "relu": F.relu,
    "gelu_new": _gelu_tanh, "gelu_pytorch_tanh": _gelu_tanh, "tanh": torch.tanh,
}


class Config:
    def __init__(self, vocab_size, pad_token_id, d_model=256, encoder_layers=3, decoder_layers=3,
                 heads=4, ffn_dim=1024, max_position_embeddings=512, dropout=0.1, activation="swish",
                 scale_embedding=True, share_embeddings=True, tie_word_embeddings=True,
                 encoder_heads=None, decoder_heads=None, encoder_ffn_dim=None, decoder_ffn_dim=None):
        self.vocab_size = vocab_size
        self.pad_token_id = pad_token_id
        self.d_model = d_model
        self.encoder_layers = encoder_layers
        self.decoder_layers = decoder_layers
        self.heads = heads
        self.ffn_dim = ffn_dim
        self.max_position_embeddings = max_position_embeddings
        self.dropout = dropout
        self.activation = activation
        self.scale_embedding = scale_embedding
        self.share_embeddings = share_embeddings
        self.tie_word_embeddings = tie_word_embeddings
        self.encoder_heads = encoder_heads or heads
        self.decoder_heads = decoder_heads or heads
        self.encoder_ffn_dim = encoder_ffn_dim or ffn_dim
        self.decoder_ffn_dim = decoder_ffn_dim or ffn_dim

    def hf_config(self):
        """config.json in the layout of Helsinki-NLP/opus-mt-* (MarianConfig)."""
        pad = self.pad_token_id
        return {
            "_name_or_path": "marian-tiny-en-zh", "architectures": ["MarianMTModel"], "model_type": "marian",
            "activation_function": self.activation, "activation_dropout": 0.0, "attention_dropout": 0.0,
            "dropout": self.dropout, "d_model": self.d_model, "vocab_size": self.vocab_size,
            "decoder_vocab_size": self.vocab_size, "share_encoder_decoder_embeddings": self.share_embeddings,
            "encoder_layers": self.encoder_layers, "decoder_layers": self.decoder_layers,
            "encoder_attention_heads": self.encoder_heads, "decoder_attention_heads": self.decoder_heads,
            "encoder_ffn_dim": self.encoder_ffn_dim, "decoder_ffn_dim": self.decoder_ffn_dim,
            "encoder_layerdrop": 0.0, "decoder_layerdrop": 0.0, "init_std": 0.02,
            "max_position_embeddings": self.max_position_embeddings, "max_length": 128, "num_beams": 4,
            "num_hidden_layers": self.encoder_layers, "scale_embedding": self.scale_embedding,
            "static_position_embeddings": True,
            "normalize_embedding": False, "normalize_before": False, "add_final_layer_norm": False,
            "is_encoder_decoder": True, "tie_word_embeddings": self.tie_word_embeddings, "use_cache": True,
            "pad_token_id": pad, "decoder_start_token_id": pad, "eos_token_id": 0, "forced_eos_token_id": 0,
            "bos_token_id": 0, "bad_words_ids": [[pad]], "classifier_dropout": 0.0,
            "transformers_version": "4.46.0",
        }


def sinusoidal(n_pos, dim):
    # MarianSinusoidalPositionalEmbedding: first half sin, second half cos (not interleaved).
    position = torch.arange(n_pos, dtype=torch.float64).unsqueeze(1)
    j = torch.arange(dim, dtype=torch.float64)
    enc = position / torch.pow(10000.0, 2 * torch.div(j, 2, rounding_mode="floor") / dim)
    out = torch.zeros(n_pos, dim)
    half = dim // 2 + dim % 2
    out[:, :half] = torch.sin(enc[:, 0::2]).float()
    out[:, half:] = torch.cos(enc[:, 1::2]).float()
    return out


class PositionalEmbedding(nn.Embedding):
    def __init__(self, n_pos, dim):
        super().__init__(n_pos, dim)
        self.weight = nn.Parameter(sinusoidal(n_pos, dim), requires_grad=False)

    def forward(self, seq_len, past_len=0):
        positions = torch.arange(past_len, past_len + seq_len, dtype=torch.long, device=self.weight.device)
        return super().forward(positions)


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads, self.head_dim = heads, d // heads
        self.scaling = self.head_dim ** -0.5
        self.k_proj, self.v_proj, self.q_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def shape(self, x):
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x, kv=None, mask=None, past=None, static_kv=None):
        """x: queries. kv: key/value source (cross-attention), or None (self-attention).
        past: (k, v) of earlier steps for self-attention. static_kv: precomputed cross-attention (k, v).
        mask: additive, broadcastable to (b, heads, tq, tk). Returns output and the (k, v) to cache."""
        q = self.shape(self.q_proj(x) * self.scaling)
        if static_kv is not None:
            k, v = static_kv
        elif kv is not None:
            k, v = self.shape(self.k_proj(kv)), self.shape(self.v_proj(kv))
        else:
            k, v = self.shape(self.k_proj(x)), self.shape(self.v_proj(x))
            if past is not None:
                k = torch.cat([past[0], k], dim=2)
                v = torch.cat([past[1], v], dim=2)
        scores = torch.matmul(q, k.transpose(-1, -2))
        if mask is not None:
            scores = scores + mask
        probs = F.softmax(scores, dim=-1)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(x.shape[0], x.shape[1], -1)
        return self.out_proj(out), (k, v)


class EncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = Attention(c.d_model, c.encoder_heads)
        self.self_attn_layer_norm = nn.LayerNorm(c.d_model)
        self.fc1, self.fc2 = nn.Linear(c.d_model, c.encoder_ffn_dim), nn.Linear(c.encoder_ffn_dim, c.d_model)
        self.final_layer_norm = nn.LayerNorm(c.d_model)
        self.dropout = c.dropout
        self.act = ACTIVATIONS[c.activation]

    def forward(self, x, mask):
        h, _ = self.self_attn(x, mask=mask)
        x = self.self_attn_layer_norm(x + F.dropout(h, self.dropout, self.training))
        h = self.fc2(self.act(self.fc1(x)))
        return self.final_layer_norm(x + F.dropout(h, self.dropout, self.training))


class DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = Attention(c.d_model, c.decoder_heads)
        self.self_attn_layer_norm = nn.LayerNorm(c.d_model)
        self.encoder_attn = Attention(c.d_model, c.decoder_heads)
        self.encoder_attn_layer_norm = nn.LayerNorm(c.d_model)
        self.fc1, self.fc2 = nn.Linear(c.d_model, c.decoder_ffn_dim), nn.Linear(c.decoder_ffn_dim, c.d_model)
        self.final_layer_norm = nn.LayerNorm(c.d_model)
        self.dropout = c.dropout
        self.act = ACTIVATIONS[c.activation]

    def forward(self, x, self_mask, enc, enc_mask, past=None, static_kv=None):
        h, self_kv = self.self_attn(x, mask=self_mask, past=past)
        x = self.self_attn_layer_norm(x + F.dropout(h, self.dropout, self.training))
        h, cross_kv = self.encoder_attn(x, kv=enc, mask=enc_mask, static_kv=static_kv)
        x = self.encoder_attn_layer_norm(x + F.dropout(h, self.dropout, self.training))
        h = self.fc2(self.act(self.fc1(x)))
        return self.final_layer_norm(x + F.dropout(h, self.dropout, self.training)), self_kv, cross_kv


class Stack(nn.Module):
    def __init__(self, c, embed_tokens, layer_type, n):
        super().__init__()
        self.embed_tokens = embed_tokens
        self.embed_positions = PositionalEmbedding(c.max_position_embeddings, c.d_model)
        self.layers = nn.ModuleList([layer_type(c) for _ in range(n)])
        self.embed_scale = math.sqrt(c.d_model) if c.scale_embedding else 1.0
        self.dropout = c.dropout

    def embed(self, ids, past_len=0):
        x = self.embed_tokens(ids) * self.embed_scale + self.embed_positions(ids.shape[1], past_len)
        return F.dropout(x, self.dropout, self.training)


NEG = -1e9  # large but finite: keeps softmax free of NaN when a row is fully masked


def padding_mask(attention_mask):
    """(b, t) 1/0 mask -> additive (b, 1, 1, t)."""
    return (1.0 - attention_mask[:, None, None, :].float()) * NEG


class MarianModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        if c.share_embeddings:
            self.shared = nn.Embedding(c.vocab_size, c.d_model, padding_idx=c.pad_token_id)
            encoder_embed = decoder_embed = self.shared
        else:
            # MarianModel with share_encoder_decoder_embeddings false: no model.shared, one table per stack.
            self.shared = None
            encoder_embed = nn.Embedding(c.vocab_size, c.d_model, padding_idx=c.pad_token_id)
            decoder_embed = nn.Embedding(c.vocab_size, c.d_model, padding_idx=c.pad_token_id)
        self.encoder = Stack(c, encoder_embed, EncoderLayer, c.encoder_layers)
        self.decoder = Stack(c, decoder_embed, DecoderLayer, c.decoder_layers)


class MarianMT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.model = MarianModel(c)
        self.lm_head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        if c.tie_word_embeddings:
            self.lm_head.weight = self.model.decoder.embed_tokens.weight
        self.register_buffer("final_logits_bias", torch.zeros(1, c.vocab_size))
        self.apply(self._init)

    def _init(self, m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding) and not isinstance(m, PositionalEmbedding):
            nn.init.normal_(m.weight, std=0.02)

    def encode(self, input_ids, attention_mask):
        enc = self.model.encoder
        x = enc.embed(input_ids)
        mask = padding_mask(attention_mask)
        for layer in enc.layers:
            x = layer(x, mask)
        return x

    def decode(self, input_ids, enc, enc_attention_mask, past=None, causal=True):
        """past: list per layer of (self_k, self_v, cross_k, cross_v) or None.
        causal=False skips the causal mask: right for one new token a step after the cache, and it keeps a
        shape-dependent Trilu out of the exported with-past graph.
        Returns logits and the new per-layer cache."""
        dec = self.model.decoder
        past_len = 0 if past is None else past[0][0].shape[2]
        x = dec.embed(input_ids, past_len)
        t = input_ids.shape[1]
        self_mask = None
        if causal:
            self_mask = torch.triu(torch.full((t, t + past_len), NEG, device=x.device), diagonal=1 + past_len)
            self_mask = self_mask[None, None, :, :]
        enc_mask = padding_mask(enc_attention_mask)
        present = []
        for i, layer in enumerate(dec.layers):
            layer_past = None if past is None else past[i]
            x, self_kv, cross_kv = layer(
                x, self_mask, enc, enc_mask,
                past=None if layer_past is None else layer_past[:2],
                static_kv=None if layer_past is None else layer_past[2:])
            present.append((self_kv[0], self_kv[1], cross_kv[0], cross_kv[1]))
        logits = self.lm_head(x) + self.final_logits_bias
        return logits, present

    def forward(self, input_ids, attention_mask, decoder_input_ids):
        enc = self.encode(input_ids, attention_mask)
        logits, _ = self.decode(decoder_input_ids, enc, attention_mask)
        return logits


@torch.no_grad()
def greedy(model, input_ids, attention_mask, start_id, eos_id, pad_id, max_new=128):
    """Batched greedy decoding with the cache, as transformers' generate does it (pad never emitted,
    forced eos at the limit). Returns lists of ids without the start token."""
    model.eval()
    enc = model.encode(input_ids, attention_mask)
    b = input_ids.shape[0]
    cur = torch.full((b, 1), start_id, dtype=torch.long)
    past = None
    done = torch.zeros(b, dtype=torch.bool)
    out = [[] for _ in range(b)]
    for step in range(max_new):
        logits, past = model.decode(cur, enc, attention_mask, past)
        logits = logits[:, -1, :]
        logits[:, pad_id] = float("-inf")
        if step == max_new - 1:
            forced = torch.full_like(logits, float("-inf"))
            forced[:, eos_id] = 0
            logits = forced
        nxt = logits.argmax(-1)
        nxt = torch.where(done, torch.full_like(nxt, pad_id), nxt)
        for i in range(b):
            if not done[i]:
                out[i].append(int(nxt[i]))
        done |= nxt == eos_id
        cur = nxt[:, None]
        if done.all():
            break
    return out
