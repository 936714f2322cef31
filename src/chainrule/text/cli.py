"""``chainrule generate``: train a character model on a corpus and invent new items.

    chainrule generate --corpus names --n 20 --new-only
    chainrule generate --corpus spells.txt --steps 30000 --out runs/spells
    chainrule generate --model runs/spells --n 50 --temperature 0.8

The training progress goes to stderr; the validation loss, the samples and the share of
new samples go to stdout. Bad input (a missing file, an empty corpus, bytes that are not
UTF-8, temperature <= 0, ...) prints one ``error:`` line and returns exit status 2.

`add_generate_arguments` and `run_generate` are what ``chainrule.cli`` wires up; ``python
-m chainrule.text.cli`` runs the same command on its own.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chainrule.text.corpus import NAMES, load_corpus
from chainrule.text.model import (
    CharMLP,
    train_language_model,
)
from chainrule.text.sampling import check_sampling_arguments, sample
from chainrule.text.storage import load_language_model, model_info, save_language_model

__all__ = ["add_generate_arguments", "main", "run_generate"]

EXIT_BAD_INPUT = 2


def add_generate_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options of ``chainrule generate`` to `parser` (and return it)."""
    source = parser.add_argument_group("corpus and model")
    source.add_argument(
        "--corpus",
        metavar="PATH|names",
        default=None,
        help='a UTF-8 text file, one item per line, or "names" for the built-in US first '
        'names (default: names; needs pip install "chainrule[text]")',
    )
    source.add_argument(
        "--model",
        metavar="DIR",
        default=None,
        help="sample from a model saved with --out instead of training one",
    )
    source.add_argument("--out", metavar="DIR", default=None, help="save the trained model here")

    train = parser.add_argument_group("training")
    train.add_argument("--context", type=int, default=3, help="characters of context (3)")
    train.add_argument("--embedding", type=int, default=10, help="embedding size (10)")
    train.add_argument("--hidden", type=int, default=200, help="hidden tanh units (200)")
    train.add_argument("--batch-norm", action="store_true", help="BatchNorm1d before tanh")
    train.add_argument("--steps", type=int, default=20_000, help="SGD steps (20000)")
    train.add_argument("--batch-size", type=int, default=64, help="examples per step (64)")
    train.add_argument(
        "--lr", type=float, default=0.1, help="learning rate (0.1; lr/10 for the last 25%%)"
    )
    train.add_argument("--seed", type=int, default=0, help="seed of the split, weights, batches")
    train.add_argument("--no-progress", action="store_true", help="no progress bar or lines")

    gen = parser.add_argument_group("sampling")
    gen.add_argument("--n", type=int, default=20, help="how many items to generate (20)")
    gen.add_argument(
        "--temperature", type=float, default=1.0, help="> 0; lower is safer, higher wilder (1)"
    )
    gen.add_argument("--top-k", type=int, default=None, help="draw among the k likeliest")
    gen.add_argument(
        "--max-length",
        type=int,
        default=None,
        help="cut samples at this length (default: longest item + 10, at least 30)",
    )
    gen.add_argument(
        "--sample-seed", type=int, default=None, help="seed of the samples (default: --seed)"
    )
    gen.add_argument(
        "--new-only", action="store_true", help="only items that are not in the corpus"
    )
    return parser


def _default_max_length(longest: int | None) -> int:
    return max(30, (longest or 0) + 10)


def _describe(model: CharMLP) -> str:
    norm = ", batch norm" if model.batch_norm else ""
    return (
        f"CharMLP (context {model.context}, embedding {model.embedding_dim}, hidden "
        f"{model.hidden_size}{norm}, {model.vocab_size} symbols)"
    )


def _run(args: Any) -> int:
    length = args.max_length if args.max_length is not None else 30
    check_sampling_arguments(args.n, args.temperature, args.top_k, length)
    if args.model is not None and args.out is not None:
        raise ValueError("--out saves a trained model; with --model nothing is trained")
    corpus: list[str] | None = None
    corpus_name = args.corpus if args.corpus is not None else NAMES
    if args.model is not None:
        model, vocab = load_language_model(args.model)
        info = model_info(args.model)
        print(f"loaded a {_describe(model)} from {args.model}")
        stored = info.get("corpus")
        if args.corpus is not None:
            corpus = load_corpus(args.corpus)
        elif isinstance(stored, str) and (stored == NAMES or Path(stored).is_file()):
            corpus_name = stored
            corpus = load_corpus(stored)
        longest = info.get("max_item_length")
        if "val_loss" in info:
            print(f"validation loss when saved: {info['val_loss']:.4f} nats/char")
    else:
        corpus = load_corpus(corpus_name)
        print(f"corpus {corpus_name}: {len(corpus)} items")
        model, vocab, history = train_language_model(
            corpus,
            context=args.context,
            embedding=args.embedding,
            hidden=args.hidden,
            steps=args.steps,
            batch_size=args.batch_size,
            lr=args.lr,
            seed=args.seed,
            progress=not args.no_progress,
            batch_norm=args.batch_norm,
        )
        longest = history["max_item_length"]
        print(
            f"trained a {_describe(model)} for {args.steps} steps in {history['seconds']:.1f}s "
            f"({history['examples_per_second']:,.0f} examples/s) on "
            f"{history['train_items']} items; {history['val_items']} held out"
        )
        validation = (
            f"{history['val_loss']:.4f} nats/char"
            if history["val_items"]
            else "n/a (too few items to hold any out)"
        )
        print(f"validation loss: {validation} (training: {history['train_loss']:.4f} nats/char)")
        if args.out is not None:
            info = {
                "corpus": corpus_name if corpus_name == NAMES else str(Path(corpus_name).resolve()),
                "max_item_length": longest,
                "val_loss": history["val_loss"],
                "train_loss": history["train_loss"],
                "steps": args.steps,
                "batch_size": args.batch_size,
                "lr": args.lr,
                "seed": args.seed,
            }
            path = save_language_model(model, vocab, args.out, info)
            print(f"saved the model to {path}")

    if args.new_only and corpus is None:
        raise ValueError("--new-only needs the corpus the model was trained on: pass --corpus")
    max_length = args.max_length if args.max_length is not None else _default_max_length(longest)
    seed = args.sample_seed if args.sample_seed is not None else args.seed
    known = set(corpus) if corpus is not None else None
    samples = sample(
        model,
        vocab,
        args.n,
        temperature=args.temperature,
        top_k=args.top_k,
        seed=seed,
        max_length=max_length,
        exclude=known if args.new_only else None,
    )
    settings = f"temperature {args.temperature:g}" + (f", top-k {args.top_k}" if args.top_k else "")
    print(f"{len(samples)} samples ({settings}):")
    for item in samples:
        print(f"  {item}")
    if args.new_only and len(samples) < args.n:
        print(f"only {len(samples)} new items found (the model mostly repeats the corpus)")
    if known is not None and samples:
        fresh = sum(item not in known for item in samples)
        print(f"new: {fresh}/{len(samples)} ({fresh / len(samples):.0%}) are not in the corpus")
    elif known is None:
        print("new: unknown (pass --corpus to compare with the training corpus)")
    return 0


def run_generate(args: argparse.Namespace) -> int:
    """Run ``chainrule generate`` with parsed arguments; returns the exit status.

    0 on success; 2 (with one ``error:`` line on stderr) for bad input: a missing file or
    model, an empty or unusable corpus, bytes that are not UTF-8, temperature <= 0, a
    missing optional package.
    """
    try:
        return _run(args)
    except (ValueError, FileNotFoundError, ImportError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="chainrule generate",
        description="Train a character-level MLP language model on a corpus and invent items.",
    )
    add_generate_arguments(parser)
    return run_generate(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
