"""Train a tokenizer on the training captions, list the tokenizers, or show what one makes of a caption.

    python -m litlab.tokenizers train --split ~/.cache/litlab/data/train --kind wordpiece --vocab-size 8000 \\
        --out /abs/path/tokenizer.json          # the split may be an s3:// URI, and so may --out
    python -m litlab.tokenizers list
    python -m litlab.tokenizers encode bpe_clip "a photo of a cat" --max-len 16
"""

from __future__ import annotations

import argparse
import sys

from litlab.tokenizers.base import DEFAULT_MAX_LEN, Tokenizer
from litlab.tokenizers.named import TOKENIZERS, get_tokenizer
from litlab.tokenizers.train import KINDS, train_on_split


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m litlab.tokenizers", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train on the captions of a shard folder, write a tokenizer.json")
    train.add_argument("--split", required=True, help="shard folder: local path or s3:// URI")
    train.add_argument("--kind", required=True, choices=KINDS.names())
    train.add_argument("--vocab-size", type=int, default=8000, help="tokens, special tokens included")
    train.add_argument("--out", required=True, help="tokenizer.json path (made absolute) or s3:// URI")
    sub.add_parser("list", help="the registered tokenizers: vocabulary and special ids")
    enc = sub.add_parser("encode", help="ids, mask and the text a tower sees, per caption")
    enc.add_argument("name", help="a registered name or file:/abs/path/tokenizer.json")
    enc.add_argument("texts", nargs="+")
    enc.add_argument("--max-len", type=int, default=DEFAULT_MAX_LEN)
    return p


def describe(tok: Tokenizer) -> str:
    s = tok.specials
    return f"{tok.name}: vocab {tok.vocab_size:,}, start {s.start}, end {s.end}, pad {s.pad}"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        run(args)
    except (KeyError, ValueError, OSError) as err:  # unknown names, bad values, missing files: one clear line
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def run(args: argparse.Namespace) -> None:
    if args.command == "train":
        result = train_on_split(args.split, args.kind, args.vocab_size, args.out,
                                progress=lambda msg: print(msg, flush=True))
        print(f"trained a {result.kind} tokenizer of {result.vocab_size:,} tokens on {result.captions:,} captions "
              f"-> {result.out}")
        print(f"use it with: --set text.tokenizer={result.name}")
    elif args.command == "list":
        for name in TOKENIZERS.names():
            print(describe(get_tokenizer(name)))
        print("file:/abs/path/tokenizer.json (or .model): any tokenizer file, e.g. one trained here")
    else:
        tok = get_tokenizer(args.name, args.max_len)
        out = tok(args.texts)
        for text, ids, mask, seen in zip(args.texts, out.ids, out.mask, tok.decode(out), strict=True):
            print(f"{text!r}\n  ids  {ids.tolist()}\n  mask {mask.tolist()}\n  seen {seen!r}")


if __name__ == "__main__":
    sys.exit(main())
