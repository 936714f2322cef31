"""benchmarks.step_lines: the timed copy of a captured program computes what the program
does, and every statement of the step is reported (no timing is asserted)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

import chainrule
from benchmarks.contenders import _chainrule_model, _chainrule_optimizer
from benchmarks.step_lines import line_times, main, timed_program
from benchmarks.workloads import WORKLOADS, make_data
from chainrule import nn

W2 = dataclasses.replace(next(w for w in WORKLOADS if w.id == "W2"), samples=320)


def _step() -> tuple[nn.Module, Any]:
    model = _chainrule_model(W2)
    optimizer = _chainrule_optimizer(W2, model)
    return model, chainrule.compile_step(model, nn.CrossEntropyLoss(), optimizer)


def test_the_timed_program_gives_the_plain_programs_numbers_bit_for_bit() -> None:
    X, y = make_data(W2)
    (plain_model, plain), (timed_model, timed) = _step(), _step()
    batches = [(X[i : i + 32], chainrule.from_numpy(y[i : i + 32])) for i in range(0, 320, 32)]
    plain(*batches[0])
    timed(*batches[0])
    _, run, spent, labels = timed_program(timed)
    (program,) = timed.programs.values()
    program.run = run
    for x, target in batches[1:]:
        a, b = plain(x, target), timed(x, target)
        assert a.item() == b.item()
    for p, q in zip(plain_model.parameters(), timed_model.parameters(), strict=True):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())
    assert set(spent) <= set(labels) and all(seconds > 0 for seconds in spent.values())
    texts = set(labels.values())
    assert "p_0_weight.dot(x.T, out0.T)" in texts  # the first product, as the program has it
    assert any(text.startswith("sgd_plain(flat0") for text in texts)  # the update
    assert not any(text.startswith(("if ", "else", "return")) for text in texts)


def test_line_times_reports_every_round_and_the_statements() -> None:
    report = line_times(W2, steps=4, rounds=2)
    for key in ("plain_us", "timed_us"):
        median, low, high = report[key]
        assert 0 < low <= median <= high
    assert len(report["others"]) == 2
    texts = [text for _, text in report["lines"]]
    assert len(texts) > 10 and "p_0_weight.dot(x.T, out0.T)" in texts
    times = [us for us, _ in report["lines"]]
    assert all(us >= 0 for us in times) and times == sorted(times, reverse=True)


def test_an_unknown_workload_is_a_one_line_error(capsys) -> None:  # type: ignore[no-untyped-def]
    import pytest

    with pytest.raises(SystemExit) as stop:
        main(["--workloads", "W9", "--threads", "1"])
    assert stop.value.code == 2
    assert "no workload among ['W9']" in capsys.readouterr().err
