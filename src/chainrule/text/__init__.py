"""A network that invents names: a character-level language model on your own corpus.

Train the MLP language model of Bengio et al. (2003) on a list of names, spells or words
(one per line, UTF-8, any script) and sample new ones::

    from chainrule import text

    items = text.load_corpus("names")      # or the path of your own text file
    model, vocab, history = text.train_language_model(items, steps=20_000)
    print(history["val_loss"], "nats/char")
    print(text.sample(model, vocab, 10, temperature=0.8, exclude=set(items)))
    text.save_language_model(model, vocab, "runs/names")
    model, vocab = text.load_language_model("runs/names")

From the command line: ``chainrule generate --corpus names --n 20 --new-only``.
"""

from chainrule.text.corpus import NAMES, clean_items, load_corpus, load_names, read_corpus
from chainrule.text.model import (
    CharMLP,
    build_examples,
    evaluate_loss,
    learning_rate_at,
    split_items,
    train_language_model,
)
from chainrule.text.sampling import check_sampling_arguments, next_symbol_probabilities, sample
from chainrule.text.storage import load_language_model, model_info, save_language_model
from chainrule.text.vocab import BOUNDARY, BOUNDARY_INDEX, Vocabulary

__all__ = [
    "BOUNDARY",
    "BOUNDARY_INDEX",
    "NAMES",
    "CharMLP",
    "Vocabulary",
    "build_examples",
    "check_sampling_arguments",
    "clean_items",
    "evaluate_loss",
    "learning_rate_at",
    "load_corpus",
    "load_language_model",
    "load_names",
    "model_info",
    "next_symbol_probabilities",
    "read_corpus",
    "sample",
    "save_language_model",
    "split_items",
    "train_language_model",
]
