#!/usr/bin/env python3
"""PyTorch CPU peer of mixer's reference Seq2Seq model, for the benchmarks in bench/.

The model (defaults = the reference configuration of the Seq2Seq issue):
  embedding 256; bidirectional LSTM encoder, 256 per direction; bridge
  h0 = tanh(W_h [h_fwd; h_bwd] + b_h), c0 = tanh(W_c0 [c_fwd; c_bwd] + b_c0) into a one-layer
  256-unit LSTM decoder; Luong `general` attention, score(h_t, h_s) = h_t^T W_a h_s, with input
  feeding (h~_t = tanh(W_c [ctx_t; h_t]) is concatenated with the next input embedding);
  output projection to the target vocabulary, log-softmax, cross-entropy masked on pad id 0.
  Source and target vocabularies 10,000; batch 32, source length 50, target length 15; Adam lr
  1e-3. Special ids: 0 pad, 1 unk, 2 bos, 3 eos; random ids are uniform over 4..vocab-1 and all
  sequences are full length.

Modes (each prints one JSON object on one line on stdout; nothing else goes to stdout):
  train  --threads N --steps S --warmup W
         median step time (forward + backward + Adam), target tokens/s and peak RSS.
  decode --threads N --strategy greedy|beam --beam-size K --batch-size B --steps 15
         --sentences N
         batched greedy or batched beam search for exactly --steps output steps (no early
         stopping), sentences/s from the median batch time, and peak RSS.
  selfcheck
         beam size 1 = greedy, a wide beam finds the exhaustive best sequence, a small model
         memorises 20 pairs; exits 1 on a failure.

Only CPU is used. Example:
  python bench/peers/torch_seq2seq.py train --threads 2 --steps 10 --warmup 2
"""

import argparse
import itertools
import json
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

PAD, UNK, BOS, EOS = 0, 1, 2, 3
FIRST_WORD = 4


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)

    def common(sp):
        sp.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
        sp.add_argument("--seed", type=int, default=1234)
        sp.add_argument("--source-vocab", type=int, default=10000)
        sp.add_argument("--target-vocab", type=int, default=10000)
        sp.add_argument("--embedding", type=int, default=256)
        sp.add_argument("--encoder-hidden", type=int, default=256, help="per direction")
        sp.add_argument("--decoder-hidden", type=int, default=256)
        sp.add_argument("--source-length", type=int, default=50)

    t = sub.add_parser("train", help="time training steps")
    common(t)
    t.add_argument("--steps", type=int, default=10, help="timed steps (default 10)")
    t.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--target-length", type=int, default=15)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--clip-norm", type=float, default=0.0,
                   help="global gradient-norm clipping; 0 (default) disables it")
    t.add_argument("--adam", choices=["default", "foreach", "fused"], default="default",
                   help="torch.optim.Adam implementation (default: torch's own choice)")

    d = sub.add_parser("decode", help="time batched greedy or beam-search decoding")
    common(d)
    d.add_argument("--strategy", choices=["greedy", "beam"], default="greedy")
    d.add_argument("--beam-size", type=int, default=5)
    d.add_argument("--batch-size", type=int, default=32)
    d.add_argument("--steps", type=int, default=15, help="output steps, always all of them")
    d.add_argument("--sentences", type=int, default=320,
                   help="sentences to decode after one untimed warm-up batch (default 320)")

    c = sub.add_parser("selfcheck", help="check greedy, beam search and training on tiny shapes")
    c.add_argument("--threads", type=int, default=1)
    c.add_argument("--seeds", type=int, default=5, help="random tiny models to check (default 5)")

    a = p.parse_args(argv)
    if a.mode == "selfcheck":
        if a.threads < 1 or a.seeds < 1:
            p.error("--threads and --seeds must be at least 1")
        return a
    positive = ["threads", "source_vocab", "target_vocab", "embedding", "encoder_hidden",
                "decoder_hidden", "source_length", "batch_size"]
    positive += ["steps"] if a.mode == "train" else ["steps", "sentences", "beam_size"]
    for name in positive:
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if a.mode == "train" and a.warmup < 0:
        p.error("--warmup must be 0 or more")
    if min(a.source_vocab, a.target_vocab) <= FIRST_WORD:
        p.error(f"vocabularies must be larger than {FIRST_WORD} (ids 0-3 are special)")
    if a.mode == "decode" and a.strategy == "beam" and a.beam_size > a.target_vocab:
        p.error("--beam-size cannot exceed --target-vocab")
    return a


def main(argv):
    args = parse_args(argv)

    torch.set_num_interop_threads(1)
    torch.set_num_threads(args.threads)
    if args.mode == "selfcheck":
        result = selfcheck(args.seeds)
        print(json.dumps(result), flush=True)
        return 0 if result["ok"] else 1
    torch.manual_seed(args.seed)
    rss_after_import = peak_rss_mb()

    gen = torch.Generator().manual_seed(args.seed)

    def random_ids(rows, length, vocab):
        return torch.randint(FIRST_WORD, vocab, (rows, length), generator=gen)

    model = Seq2Seq(args)
    n_params = sum(p.numel() for p in model.parameters())
    info = {
        "peer": "pytorch",
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": args.threads,
        "interop_threads": torch.get_num_interop_threads(),
        "parameters": n_params,
    }

    if args.mode == "train":
        result = train(model, args, random_ids)
    else:
        result = decode(model, args, random_ids)
    result.update(info)
    result["rss_after_import_mb"] = round(rss_after_import, 1)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(result), flush=True)
    return 0


class Seq2Seq(nn.Module):
    """Attentive bidirectional-LSTM encoder / LSTM decoder with input feeding."""

    def __init__(self, a):
        super().__init__()
        E, He, Hd = a.embedding, a.encoder_hidden, a.decoder_hidden
        self.src_embed = nn.Embedding(a.source_vocab, E, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(a.target_vocab, E, padding_idx=PAD)
        self.encoder = nn.LSTM(E, He, num_layers=1, batch_first=True, bidirectional=True)
        self.bridge_h = nn.Linear(2 * He, Hd)
        self.bridge_c = nn.Linear(2 * He, Hd)
        self.decoder = nn.LSTMCell(E + Hd, Hd)  # input feeding: [y_{t-1} embedding; h~_{t-1}]
        self.attn_in = nn.Linear(Hd, 2 * He, bias=False)  # W_a of `general`, on the query
        self.attn_out = nn.Linear(2 * He + Hd, Hd, bias=False)  # W_c of h~ = tanh(W_c [c; h])
        self.generator = nn.Linear(Hd, a.target_vocab)

    def encode(self, src):
        """src (B, S) -> memory (B, S, 2He), pad mask (B, S), decoder state ((B, Hd),)*2."""
        memory, (h_n, c_n) = self.encoder(self.src_embed(src))
        # h_n, c_n: (2, B, He) = final forward state, final backward state.
        h0 = torch.tanh(self.bridge_h(torch.cat([h_n[0], h_n[1]], dim=1)))
        c0 = torch.tanh(self.bridge_c(torch.cat([c_n[0], c_n[1]], dim=1)))
        return memory, src.eq(PAD), (h0, c0)

    def step(self, y_prev, feed, state, memory, pad_mask):
        """One decoder step: returns h~_t (B, Hd) and the new (h, c)."""
        h, c = self.decoder(torch.cat([self.tgt_embed(y_prev), feed], dim=1), state)
        query = self.attn_in(h).unsqueeze(2)                      # (B, 2He, 1)
        scores = torch.bmm(memory, query).squeeze(2)              # (B, S)
        scores = scores.masked_fill(pad_mask, float("-inf"))
        align = torch.softmax(scores, dim=1)
        context = torch.bmm(align.unsqueeze(1), memory).squeeze(1)  # (B, 2He)
        attentional = torch.tanh(self.attn_out(torch.cat([context, h], dim=1)))
        return attentional, (h, c)

    def forward(self, src, tgt_in):
        """Teacher-forced log-probabilities (B, T, V) of the targets after tgt_in (B, T)."""
        memory, pad_mask, state = self.encode(src)
        feed = memory.new_zeros(src.size(0), self.decoder.hidden_size)
        outputs = []
        for t in range(tgt_in.size(1)):
            feed, state = self.step(tgt_in[:, t], feed, state, memory, pad_mask)
            outputs.append(feed)
        hidden = torch.stack(outputs, dim=1)                      # (B, T, Hd)
        return F.log_softmax(self.generator(hidden), dim=-1)


def train(model, args, random_ids):
    model.train()
    kwargs = {}
    if args.adam == "foreach":
        kwargs["foreach"] = True
    elif args.adam == "fused":
        kwargs["fused"] = True
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, **kwargs)
    B, S, T = args.batch_size, args.source_length, args.target_length
    n_batches = min(args.warmup + args.steps, 8)
    batches = []
    for _ in range(n_batches):
        src = random_ids(B, S, args.source_vocab)
        tgt = random_ids(B, T, args.target_vocab)
        tgt_in = torch.cat([torch.full((B, 1), BOS, dtype=tgt.dtype), tgt[:, :-1]], dim=1)
        batches.append((src, tgt_in, tgt))

    times, losses = [], []
    for i in range(args.warmup + args.steps):
        src, tgt_in, tgt = batches[i % n_batches]
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        logp = model(src, tgt_in)
        loss = F.nll_loss(logp.reshape(-1, logp.size(-1)), tgt.reshape(-1), ignore_index=PAD)
        loss.backward()
        if args.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip_norm)
        optimizer.step()
        elapsed = time.perf_counter() - start
        losses.append(loss.item())
        if i >= args.warmup:
            times.append(elapsed)
    step = statistics.median(times)
    tokens = B * T  # every target position is a real token (full length, no pad)
    return {
        "mode": "train",
        "batch_size": B, "source_length": S, "target_length": T,
        "embedding": args.embedding, "encoder_hidden": args.encoder_hidden,
        "decoder_hidden": args.decoder_hidden,
        "source_vocab": args.source_vocab, "target_vocab": args.target_vocab,
        "optimizer": f"adam({args.adam})", "lr": args.lr, "clip_norm": args.clip_norm,
        "steps": args.steps, "warmup": args.warmup,
        "step_ms": round(step * 1e3, 2),
        "step_ms_min": round(min(times) * 1e3, 2),
        "step_ms_max": round(max(times) * 1e3, 2),
        "tokens_per_s": round(tokens / step, 1),
        "loss_first": round(losses[0], 4), "loss_last": round(losses[-1], 4),
    }


def greedy(model, src, steps):
    """Batched greedy search for exactly `steps` steps: tokens (B, steps), scores (B,)."""
    memory, pad_mask, state = model.encode(src)
    B = src.size(0)
    feed = memory.new_zeros(B, model.decoder.hidden_size)
    y = torch.full((B,), BOS, dtype=torch.long)
    score = memory.new_zeros(B)
    out = []
    for _ in range(steps):
        feed, state = model.step(y, feed, state, memory, pad_mask)
        logp = F.log_softmax(model.generator(feed), dim=-1)
        best, y = logp.max(dim=-1)
        score += best
        out.append(y)
    return torch.stack(out, dim=1), score


def beam(model, src, steps, K):
    """Batched beam search over B*K rows for exactly `steps` steps.

    Scores are accumulated log-probabilities; each step takes the top K of the K*V
    continuations of every input, reorders the decoder states by their back-pointers and
    records them; the best final hypothesis of each input is read back. Returns tokens
    (B, steps) and scores (B,).
    """
    B = src.size(0)
    memory, pad_mask, (h, c) = model.encode(src)
    memory = memory.repeat_interleave(K, dim=0)                       # (B*K, S, 2He)
    pad_mask = pad_mask.repeat_interleave(K, dim=0)
    h, c = h.repeat_interleave(K, dim=0), c.repeat_interleave(K, dim=0)
    feed = memory.new_zeros(B * K, model.decoder.hidden_size)
    y = torch.full((B * K,), BOS, dtype=torch.long)
    # Only the first beam of each input is live at the start, so the K initial beams differ.
    scores = memory.new_full((B, K), float("-inf"))
    scores[:, 0] = 0.0
    base = (torch.arange(B) * K).unsqueeze(1)                        # (B, 1)
    tokens, parents = [], []
    V = model.generator.out_features
    for _ in range(steps):
        feed, (h, c) = model.step(y, feed, (h, c), memory, pad_mask)
        logp = F.log_softmax(model.generator(feed), dim=-1)          # (B*K, V)
        total = (scores.reshape(-1, 1) + logp).reshape(B, K * V)
        scores, flat = total.topk(K, dim=1)                          # (B, K)
        parent = torch.div(flat, V, rounding_mode="floor")
        y = (flat % V).reshape(-1)
        rows = (base + parent).reshape(-1)
        h, c, feed = h.index_select(0, rows), c.index_select(0, rows), feed.index_select(0, rows)
        tokens.append(y.reshape(B, K))
        parents.append(parent)
    # Back-track from the best beam of each input (topk sorts, so beam 0 is the best).
    best = torch.zeros(B, dtype=torch.long)
    out = []
    for t in range(steps - 1, -1, -1):
        out.append(tokens[t].gather(1, best.unsqueeze(1)).squeeze(1))
        best = parents[t].gather(1, best.unsqueeze(1)).squeeze(1)
    return torch.stack(out[::-1], dim=1), scores[:, 0]


def decode(model, args, random_ids):
    model.eval()
    B, S = args.batch_size, args.source_length
    n_batches = -(-args.sentences // B)
    sources = [random_ids(B, S, args.source_vocab) for _ in range(n_batches + 1)]
    times = []
    checksum = 0
    with torch.inference_mode():
        for i, src in enumerate(sources):  # sources[0] is the untimed warm-up batch
            start = time.perf_counter()
            if args.strategy == "greedy":
                toks, _ = greedy(model, src, args.steps)
            else:
                toks, _ = beam(model, src, args.steps, args.beam_size)
            elapsed = time.perf_counter() - start
            if i > 0:
                times.append(elapsed)
                checksum += int(toks.sum())
    per_batch = statistics.median(times)
    return {
        "mode": "decode",
        "strategy": args.strategy,
        "beam_size": args.beam_size if args.strategy == "beam" else 1,
        "batch_size": B, "source_length": S, "steps": args.steps,
        "source_vocab": args.source_vocab, "target_vocab": args.target_vocab,
        "sentences": n_batches * B,
        "batch_ms": round(per_batch * 1e3, 3),
        "batch_ms_min": round(min(times) * 1e3, 3),
        "sentences_per_s": round(B / per_batch, 1),
        "output_checksum": checksum,
    }


def selfcheck(seeds):
    """Checks the decoders and the training loop on tiny models; returns a JSON-able summary.

    For each seed, on a random model with weights scaled by 2 (target vocabulary 7, 3 steps,
    3 inputs, one of them with a padded source position): beam size 1 equals greedy (tokens
    and scores); greedy's score equals the teacher-forced log-likelihood of its own output;
    beam search with K = 7^2 = 49 (wide enough to be exact) returns the highest-scoring of
    all 7^3 sequences, found by scoring every one of them (greedy must miss it on some inputs,
    or the check would prove nothing). Then a small model trained with
    Adam memorises 20 random pairs: loss under 0.05 and greedy output equal to the targets.
    """
    tiny = argparse.Namespace(source_vocab=9, target_vocab=7, embedding=8, encoder_hidden=6,
                              decoder_hidden=5)
    V, S, T = tiny.target_vocab, 4, 3
    every = torch.tensor(list(itertools.product(range(V), repeat=T)))   # (V^T, T)
    every_in = torch.cat([torch.full((len(every), 1), BOS), every[:, :-1]], dim=1)
    failures = []
    greedy_not_best = 0
    for seed in range(seeds):
        torch.manual_seed(seed)
        model = Seq2Seq(tiny).eval()
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(2.0)  # sharper, yet greedy often misses the best sequence
        src = torch.randint(FIRST_WORD, tiny.source_vocab, (3, S))
        src[1, S - 1] = PAD
        with torch.inference_mode():
            g, g_score = greedy(model, src, T)
            b1, b1_score = beam(model, src, T, 1)
            if not (torch.equal(g, b1) and torch.allclose(g_score, b1_score)):
                failures.append(f"seed {seed}: beam size 1 differs from greedy")
            g_in = torch.cat([torch.full((3, 1), BOS), g[:, :-1]], dim=1)
            forced = model(src, g_in).gather(2, g.unsqueeze(2)).squeeze(2).sum(1)
            if not torch.allclose(forced, g_score, atol=1e-5):
                failures.append(f"seed {seed}: greedy score {g_score.tolist()} != "
                                f"teacher-forced {forced.tolist()}")
            wide, wide_score = beam(model, src, T, V ** (T - 1))
            for i in range(3):
                logp = model(src[i:i + 1].expand(len(every), S), every_in)
                total = logp.gather(2, every.unsqueeze(2)).squeeze(2).sum(1)
                best = int(total.argmax())
                greedy_not_best += g[i].tolist() != every[best].tolist()
                if wide[i].tolist() != every[best].tolist() or \
                        abs(float(wide_score[i]) - float(total[best])) > 1e-4:
                    failures.append(f"seed {seed} input {i}: beam {wide[i].tolist()} "
                                    f"({float(wide_score[i]):.5f}) but best is "
                                    f"{every[best].tolist()} ({float(total[best]):.5f})")
    if greedy_not_best == 0:
        failures.append("greedy found the best sequence every time: the beam check proves nothing")
    torch.manual_seed(seeds)
    small = argparse.Namespace(source_vocab=30, target_vocab=30, embedding=32,
                               encoder_hidden=32, decoder_hidden=32)
    model = Seq2Seq(small)
    src = torch.randint(FIRST_WORD, 30, (20, 6))
    tgt = torch.randint(FIRST_WORD, 30, (20, 5))
    tgt_in = torch.cat([torch.full((20, 1), BOS), tgt[:, :-1]], dim=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        optimizer.zero_grad(set_to_none=True)
        logp = model(src, tgt_in)
        loss = F.nll_loss(logp.reshape(-1, 30), tgt.reshape(-1), ignore_index=PAD)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.inference_mode():
        out, _ = greedy(model, src, 5)
    if loss.item() >= 0.05:
        failures.append(f"memorisation: loss {loss.item():.4f} >= 0.05")
    if not torch.equal(out, tgt):
        failures.append(f"memorisation: greedy output differs from the targets in "
                        f"{int((out != tgt).any(1).sum())} of 20 pairs")
    return {"mode": "selfcheck", "ok": not failures, "seeds": seeds,
            "inputs_where_greedy_is_not_best": greedy_not_best,
            "memorise_loss": round(loss.item(), 5), "failures": failures,
            "torch": torch.__version__}


def peak_rss_mb():
    """Peak resident set size of this process in MB (ru_maxrss is in KiB on Linux)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024.0 if sys.platform != "darwin" else kib / 1024.0 / 1024.0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
