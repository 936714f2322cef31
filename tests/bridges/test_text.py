"""chainrule.text: vocabulary, corpus loading, the character MLP, sampling, storage, CLI."""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import math

import numpy as np
import pytest

import chainrule
from chainrule import text
from chainrule.text import cli
from chainrule.text.corpus import clean_items

SPELLS = [
    "accio", "aguamenti", "alohomora", "anapneo", "aparecium", "avis", "confringo",
    "confundo", "crucio", "diffindo", "engorgio", "episkey", "expelliarmus", "ferula",
    "finite", "flipendo", "glisseo", "impedimenta", "imperio", "incendio", "legilimens",
    "levicorpus", "liberacorpus", "locomotor", "lumos", "nox", "obliviate", "obscuro",
    "oppugno", "orchideous", "petrificus", "protego", "reducio", "reducto", "relashio",
    "rennervate", "reparo", "rictusempra", "riddikulus", "scourgify", "sectumsempra",
    "serpensortia", "silencio", "sonorus", "stupefy", "tarantallegra", "tergeo",
    "wingardium", "leviosa",
]  # fmt: skip


def small_options(**overrides: object) -> dict[str, object]:
    options: dict[str, object] = dict(
        context=3, embedding=8, hidden=32, steps=300, batch_size=32, lr=0.1, seed=0
    )
    options.update(overrides)
    return options


@pytest.fixture(scope="module")
def trained() -> tuple[text.CharMLP, text.Vocabulary, dict]:
    return text.train_language_model(SPELLS, progress=False, **small_options())  # type: ignore[arg-type]


def write(tmp_path, name: str, data: bytes | str):
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


# ---------------------------------------------------------------------- vocabulary
@pytest.mark.parametrize(
    "items",
    [
        ["emma", "olivia", "ava"],
        ["Анастасия", "Пётр", "Ёжик", "щука"],  # Cyrillic, with ё
        ["王小明", "李华", "张伟", "刘洋"],  # CJK
        ["José", "Zoë", "Ἀθηνᾶ", "a.b c", "x-ray"],  # accents, Greek, '.', space, '-'
    ],
)
def test_vocabulary_round_trip(items: list[str]) -> None:
    vocab = text.Vocabulary.from_items(items)
    assert len(vocab) == len(set("".join(items))) + 1  # + the boundary
    for item in items:
        ids = vocab.encode(item)
        assert 0 not in ids  # index 0 is the boundary, never a character
        assert vocab.decode(ids) == item
        assert vocab.decode([0, *ids, 0]) == item  # boundaries are left out
    again = text.Vocabulary.from_json(vocab.to_json())
    assert again == vocab and again.characters == vocab.characters
    assert json.loads(vocab.to_json())["characters"] == list(vocab.characters)
    if any(ord(c) > 127 for c in "".join(items)):
        assert "\\u" not in vocab.to_json()  # UTF-8 kept as characters


def test_vocabulary_errors() -> None:
    vocab = text.Vocabulary.from_items(["abc", "cab"])
    with pytest.raises(ValueError, match="'z'"):
        vocab.encode("abz")
    with pytest.raises(ValueError, match="out of range"):
        vocab.decode([1, 99])
    with pytest.raises(ValueError, match="not a chainrule.text vocabulary"):
        text.Vocabulary.from_json('{"characters": ["a"]}')
    with pytest.raises(ValueError, match="empty"):
        text.Vocabulary.from_items(["", ""])
    with pytest.raises(ValueError, match="1 distinct character"):
        text.Vocabulary.from_items(["aaa", "a"])


def test_clean_items_strips_dedupes_and_normalises() -> None:
    decomposed = "Jose\u0301"  # e + combining acute accent
    assert clean_items(["  anna \n", "", "   ", "bob", "anna", decomposed, "José"]) == [
        "anna",
        "bob",
        "José",
    ]


# ---------------------------------------------------------------------- data
def test_build_examples_windows() -> None:
    vocab = text.Vocabulary.from_items(["emma", "bo"])
    X, Y = text.build_examples(["emma", "bo"], vocab, 3)
    e, m, a, b, o = (vocab.index(c) for c in "emabo")
    assert X.tolist() == [
        [0, 0, 0], [0, 0, e], [0, e, m], [e, m, m], [m, m, a],
        [0, 0, 0], [0, 0, b], [0, b, o],
    ]  # fmt: skip
    assert Y.tolist() == [e, m, m, a, 0, b, o, 0]
    assert X.dtype == Y.dtype == np.int64
    X0, Y0 = text.build_examples([], vocab, 4)
    assert X0.shape == (0, 4) and Y0.shape == (0,)


def test_split_is_by_item_and_seeded() -> None:
    train, val = text.split_items(SPELLS, 0.1, seed=3)
    assert sorted(train + val) == sorted(SPELLS)
    assert not set(train) & set(val)
    assert len(val) == round(0.1 * len(SPELLS))
    assert text.split_items(SPELLS, 0.1, seed=3) == (train, val)
    assert text.split_items(SPELLS, 0.1, seed=4) != (train, val)


def test_learning_rate_schedule() -> None:
    rates = [text.learning_rate_at(i, 8, 0.1) for i in range(8)]
    assert rates == [0.1] * 6 + [0.01] * 2


# ---------------------------------------------------------------------- model and training
def test_model_shapes_and_batch_norm() -> None:
    model = text.CharMLP(30, context=4, embedding=5, hidden=16, batch_norm=True)
    logits = model(np.zeros((7, 4), np.int64))
    assert logits.shape == (7, 30)
    assert model.fc.bias is None  # BatchNorm's shift replaces the bias
    assert model.config() == dict(vocab_size=30, context=4, embedding=5, hidden=16, batch_norm=True)
    with pytest.raises(ValueError, match="context"):
        text.CharMLP(30, context=0)


def test_loss_decreases(trained) -> None:
    model, vocab, history = trained
    losses = history["loss"]
    assert len(losses) == 300
    assert np.mean(losses[-30:]) < np.mean(losses[:30]) - 0.5
    assert losses[0] == pytest.approx(math.log(len(vocab)), abs=0.5)  # starts near uniform
    assert history["train_loss"] < math.log(len(vocab)) - 0.5
    assert math.isfinite(history["val_loss"]) and history["val_items"] == 5
    assert not model.training


def test_training_is_reproducible_and_leaves_the_default_rng_alone() -> None:
    chainrule.manual_seed(123)
    state = chainrule.get_rng_state()
    options = small_options(steps=20)
    _, _, first = text.train_language_model(SPELLS, progress=False, **options)  # type: ignore[arg-type]
    assert chainrule.equal(chainrule.get_rng_state(), state)
    _, _, second = text.train_language_model(SPELLS, progress=False, **options)  # type: ignore[arg-type]
    assert first["loss"] == second["loss"]


def test_batch_norm_model_trains() -> None:
    options = small_options(steps=150)
    model, vocab, history = text.train_language_model(
        SPELLS,
        progress=False,
        batch_norm=True,
        **options,  # type: ignore[arg-type]
    )
    assert history["train_loss"] < math.log(len(vocab)) - 0.5
    assert len(text.sample(model, vocab, 5)) == 5


def test_progress_lines_without_a_terminal() -> None:
    stream = io.StringIO()
    text.train_language_model(SPELLS, progress=True, stream=stream, **small_options(steps=50))  # type: ignore[arg-type]
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[-1].startswith("step 50/50 - loss ")


def test_same_training_as_pytorch() -> None:
    """The same weights, batches and SGD steps give the same losses in PyTorch."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: threads only add waiting on a busy machine
    try:
        run_same_training_as_pytorch(torch)
    finally:
        torch.set_num_threads(threads)


def run_same_training_as_pytorch(torch) -> None:
    chainrule.manual_seed(0)
    vocab = text.Vocabulary.from_items(SPELLS)
    X, Y = text.build_examples(SPELLS, vocab, 3)
    model = text.CharMLP(len(vocab), hidden=32)
    layers = torch.nn.ModuleDict(
        {
            "embed": torch.nn.Embedding(len(vocab), 10),
            "fc": torch.nn.Linear(30, 32),
            "out": torch.nn.Linear(32, len(vocab)),
        }
    )
    layers.load_state_dict(
        {
            name: torch.from_numpy(t.detach().numpy().copy())
            for name, t in model.state_dict().items()
        }
    )

    def reference(x):
        hidden = torch.tanh(layers["fc"](layers["embed"](x).reshape(len(x), 30)))
        return layers["out"](hidden)

    step = text.model.make_step(model, chainrule.optim.SGD(model.parameters(), lr=0.1))
    optimizer = torch.optim.SGD(layers.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    for _ in range(30):
        rows = rng.integers(0, len(Y), 16)
        ours = step(X[rows], Y[rows], 0.1)
        loss = torch.nn.functional.cross_entropy(
            reference(torch.from_numpy(X[rows])), torch.from_numpy(Y[rows])
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        assert ours == pytest.approx(loss.item(), rel=1e-4)


# ---------------------------------------------------------------------- sampling
def test_sampling_is_reproducible(trained) -> None:
    model, vocab, _ = trained
    first = text.sample(model, vocab, 12, seed=7)
    assert len(first) == 12 and all(isinstance(s, str) for s in first)
    assert text.sample(model, vocab, 12, seed=7) == first
    assert text.sample(model, vocab, 12, seed=8) != first
    assert all(len(s) <= 30 for s in first)
    assert all(set(s) <= set(vocab.characters) for s in first)


def greedy(model: text.CharMLP, vocab: text.Vocabulary, max_length: int) -> str:
    """The argmax string, one character at a time (the slow reference)."""
    window, out = [0] * model.context, []
    with chainrule.no_grad():
        for _ in range(max_length):
            best = int(np.argmax(model(np.array([window])).detach().numpy()[0]))
            if best == 0:
                break
            out.append(best)
            window = [*window[1:], best]
    return vocab.decode(out)


def test_temperature_to_zero_gives_the_greedy_string(trained) -> None:
    model, vocab, _ = trained
    expected = greedy(model, vocab, 30)
    assert expected
    assert text.sample(model, vocab, 4, temperature=1e-6, seed=1) == [expected] * 4
    assert text.sample(model, vocab, 3, top_k=1, seed=2) == [expected] * 3


def test_top_k_and_max_length(trained) -> None:
    model, vocab, _ = trained
    assert all(len(s) <= 3 for s in text.sample(model, vocab, 20, max_length=3))
    p = text.next_symbol_probabilities(np.array([[1.0, 3.0, 2.0, 0.0]]), top_k=2)
    assert p[0, 0] == 0 and p[0, 3] == 0 and p.sum() == pytest.approx(1)
    cold = text.next_symbol_probabilities(np.array([[1.0, 3.0, 2.0]]), temperature=1e-6)
    assert cold.tolist() == [[0.0, 1.0, 0.0]]


def test_new_only_samples(trained) -> None:
    model, vocab, _ = trained
    new = text.sample(model, vocab, 10, seed=0, exclude=set(SPELLS))
    assert len(new) == 10
    assert not set(new) & set(SPELLS)
    assert len(set(new)) == 10 and all(new)


@pytest.mark.parametrize("temperature", [0, -1.0, float("nan"), float("inf")])
def test_bad_temperature(trained, temperature: float) -> None:
    model, vocab, _ = trained
    with pytest.raises(ValueError, match="temperature must be a number > 0"):
        text.sample(model, vocab, 3, temperature=temperature)


def test_bad_sampling_arguments(trained) -> None:
    model, vocab, _ = trained
    with pytest.raises(ValueError, match="top_k"):
        text.sample(model, vocab, 3, top_k=0)
    with pytest.raises(ValueError, match="max_length"):
        text.sample(model, vocab, 3, max_length=0)
    with pytest.raises(ValueError, match="n must be"):
        text.sample(model, vocab, -1)
    other = text.Vocabulary.from_items(["xy"])
    with pytest.raises(ValueError, match="symbols"):
        text.sample(model, other, 3)


# ---------------------------------------------------------------------- corpora and bad input
def test_read_corpus(tmp_path) -> None:
    path = write(tmp_path, "ru.txt", "\ufeffВаня\n\n  Маша  \r\nПётр\nВаня\n")
    assert text.read_corpus(path) == ["Ваня", "Маша", "Пётр"]
    assert text.load_corpus(str(path)) == ["Ваня", "Маша", "Пётр"]


def test_missing_file(tmp_path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(FileNotFoundError, match="corpus file not found: .*nope.txt"):
        text.load_corpus(missing)


def test_empty_corpus(tmp_path) -> None:
    path = write(tmp_path, "empty.txt", "\n   \n\t\n")
    with pytest.raises(ValueError, match="is empty: it has no non-blank lines"):
        text.read_corpus(path)
    with pytest.raises(ValueError, match="empty"):
        text.train_language_model([], progress=False)


def test_one_distinct_character(tmp_path) -> None:
    items = text.read_corpus(write(tmp_path, "a.txt", "aaa\na\naa\n"))
    with pytest.raises(ValueError, match="1 distinct character.*at least 2"):
        text.train_language_model(items, progress=False, steps=1)


def test_non_utf8_names_the_line(tmp_path) -> None:
    path = write(tmp_path, "latin1.txt", b"anna\nbob\n" + "josé\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"line 3 is not valid UTF-8 \(byte 0xe9 at column 4\)"):
        text.read_corpus(path)


def test_folder_is_not_a_corpus(tmp_path) -> None:
    with pytest.raises(ValueError, match="is a folder"):
        text.read_corpus(tmp_path)


def test_names_corpus_loads() -> None:
    pytest.importorskip("names")
    names = text.load_corpus("names")
    assert len(names) > 4000
    assert len(set(names)) == len(names)
    assert {"mary", "james", "emma"} <= set(names)
    assert all(name.isalpha() and name == name.lower() for name in names)


def test_names_corpus_missing_package(monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "names" else real(name, *a)
    )
    with pytest.raises(ImportError, match=r'pip install "chainrule\[text\]"'):
        text.load_corpus("names")


# ---------------------------------------------------------------------- storage
def test_checkpoint_round_trip(tmp_path, trained) -> None:
    pytest.importorskip("safetensors")
    model, vocab, _ = trained
    path = text.save_language_model(model, vocab, tmp_path / "run", {"corpus": "spells"})
    assert path.name == "model.safetensors" and path.is_file()
    loaded, loaded_vocab = text.load_language_model(tmp_path / "run")
    assert loaded_vocab == vocab
    assert loaded.config() == model.config()
    assert text.sample(loaded, loaded_vocab, 10, seed=3) == text.sample(model, vocab, 10, seed=3)
    assert text.model_info(tmp_path / "run") == {"corpus": "spells"}
    with pytest.raises(FileNotFoundError, match="no saved language model"):
        text.load_language_model(tmp_path / "elsewhere")


def test_checkpoint_round_trip_cyrillic_batch_norm(tmp_path) -> None:
    pytest.importorskip("safetensors")
    items = ["Ваня", "Маша", "Пётр", "Наталья", "Ольга", "Иван", "Анна"]
    options = small_options(steps=30)
    model, vocab, _ = text.train_language_model(items, progress=False, batch_norm=True, **options)  # type: ignore[arg-type]
    text.save_language_model(model, vocab, tmp_path)
    loaded, loaded_vocab = text.load_language_model(tmp_path / "model.safetensors")
    assert loaded_vocab.characters == vocab.characters
    assert np.array_equal(
        loaded.norm.running_var.detach().numpy(), model.norm.running_var.detach().numpy()
    )
    assert text.sample(loaded, loaded_vocab, 5) == text.sample(model, vocab, 5)


def test_foreign_checkpoint_is_rejected(tmp_path) -> None:
    pytest.importorskip("safetensors")
    chainrule.checkpoint.save(chainrule.nn.Linear(2, 2), tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match="not a chainrule.text language model"):
        text.load_language_model(tmp_path)


# ---------------------------------------------------------------------- command line
def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="chainrule generate")
    cli.add_generate_arguments(parser)
    return cli.run_generate(parser.parse_args(list(argv)))


def test_generate_end_to_end(tmp_path, capsys) -> None:
    corpus = write(tmp_path, "spells.txt", "\n".join(SPELLS) + "\n")
    out = tmp_path / "model"
    status = run_cli(
        "--corpus", str(corpus), "--steps", "200", "--hidden", "32", "--batch-size", "32",
        "--n", "6", "--temperature", "0.8", "--seed", "1", "--out", str(out),
    )  # fmt: skip
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "validation loss: " in captured.out and "nats/char" in captured.out
    assert "step 200/200" in captured.err  # progress goes to stderr
    assert "6 samples (temperature 0.8):" in captured.out
    assert "are not in the corpus" in captured.out
    model, vocab = text.load_language_model(out)
    expected = text.sample(model, vocab, 6, temperature=0.8, seed=1, max_length=30)
    lines = captured.out.splitlines()
    for item in expected:
        assert f"  {item}" in lines

    status = run_cli("--model", str(out), "--n", "4", "--new-only", "--sample-seed", "5")
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "loaded a CharMLP (context 3, embedding 10, hidden 32" in captured.out
    assert "new: 4/4 (100%) are not in the corpus" in captured.out
    new = text.sample(model, vocab, 4, seed=5, exclude=set(SPELLS))
    for item in new:
        assert f"  {item}" in captured.out.splitlines()


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda p: ["--corpus", str(p / "missing.txt")], "corpus file not found"),
        (lambda p: ["--corpus", str(write(p, "e.txt", "\n\n"))], "is empty"),
        (lambda p: ["--corpus", str(write(p, "a.txt", "aa\na\n"))], "1 distinct character"),
        (lambda p: ["--corpus", str(write(p, "b.txt", b"ok\n\xff\n"))], "line 2 is not valid"),
        (lambda p: ["--corpus", str(write(p, "c.txt", "ab\nba\n")), "--temperature", "0"],
         "temperature must be a number > 0"),
        (lambda p: ["--model", str(p / "none")], "no saved language model"),
    ],
)  # fmt: skip
def test_generate_bad_input_exits_2(tmp_path, capsys, make_args, message: str) -> None:
    status = run_cli(*make_args(tmp_path), "--steps", "5", "--no-progress")
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err.startswith("error: ") and message in captured.err
    assert len(captured.err.strip().splitlines()) == 1
