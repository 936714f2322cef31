"""The exercises' check cells: ``with exercise("name"): assert ...``.

- the student has not written the answer yet (the cell still raises NotImplementedError):
  says so and lets the notebook run on;
- the assertion holds: says it is right;
- the assertion fails: says what is wrong and raises, so "Run all" stops at the mistake.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def exercise(name: str) -> Iterator[None]:
    try:
        yield
    except NotImplementedError:
        print(f"[ ] {name}: not done yet - write your answer in the cell above, then run both")
    except AssertionError as error:
        print(f"[x] {name}: not yet right. {error}")
        raise
    else:
        print(f"[ok] {name}: correct")
