"""`Vocabulary`: the characters of a corpus, numbered, plus one boundary symbol.

Index 0 is reserved for the boundary (start and end of an item); it is no character, so a
corpus may contain '.', spaces or any other symbol. It is shown as ``BOUNDARY`` ('.') when a
sequence of indices is displayed. Characters are Unicode code points, so Cyrillic, Greek,
CJK, accented Latin, ... all work; items are NFC-normalised by `chainrule.text.corpus`.

    >>> vocab = Vocabulary.from_items(["anna", "bob"])
    >>> vocab.encode("nab")
    [3, 1, 2]
    >>> vocab.decode([3, 1, 2, 0])
    'nab'
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["BOUNDARY", "BOUNDARY_INDEX", "Vocabulary"]

BOUNDARY_INDEX = 0
"""The index of the start/end-of-item symbol."""

BOUNDARY = "."
"""How the boundary symbol is displayed (it is never a character of the corpus)."""

_FORMAT = "chainrule.text.Vocabulary"
_VERSION = 1


class Vocabulary:
    """A character vocabulary: index 0 is the boundary, characters are 1..len(vocab)-1.

    Args:
        characters: the distinct characters, in index order (index 1 first).
    """

    def __init__(self, characters: Iterable[str]) -> None:
        chars = list(characters)
        for char in chars:
            if not isinstance(char, str) or len(char) != 1:
                raise ValueError(f"a vocabulary holds single characters, got {char!r}")
        if len(set(chars)) != len(chars):
            raise ValueError("the vocabulary's characters must be distinct")
        self.characters: tuple[str, ...] = tuple(chars)
        self._index = {char: i + 1 for i, char in enumerate(chars)}

    @classmethod
    def from_items(cls, items: Iterable[str]) -> Vocabulary:
        """The sorted characters of `items` (a corpus, one item per string).

        Raises ValueError for an empty corpus or one with fewer than 2 distinct characters
        (a model has nothing to learn from it).
        """
        items = list(items)
        if not any(items):
            raise ValueError("the corpus is empty: it has no non-blank items")
        chars = sorted(set().union(*map(set, items)))
        if len(chars) < 2:
            raise ValueError(
                f"the corpus has {len(chars)} distinct character ({''.join(chars)!r}); "
                "at least 2 are needed to learn anything"
            )
        return cls(chars)

    def __len__(self) -> int:
        """The number of symbols: the characters plus the boundary."""
        return len(self.characters) + 1

    def __contains__(self, char: object) -> bool:
        return char in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.characters == other.characters

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = "".join(self.characters)
        if len(shown) > 40:
            shown = shown[:37] + "..."
        return f"Vocabulary({len(self)} symbols: {BOUNDARY!r} + {shown!r})"

    def index(self, char: str) -> int:
        """The index of one character (ValueError if it is not in the vocabulary)."""
        try:
            return self._index[char]
        except KeyError:
            raise ValueError(f"character {char!r} is not in the vocabulary") from None

    def symbol(self, index: int) -> str:
        """The character at `index` (BOUNDARY for 0)."""
        if index == BOUNDARY_INDEX:
            return BOUNDARY
        if not 0 < index < len(self):
            raise ValueError(f"index {index} is out of range for {len(self)} symbols")
        return self.characters[index - 1]

    def encode(self, text: str) -> list[int]:
        """The indices of the characters of `text` (no boundary added)."""
        index = self._index
        try:
            return [index[char] for char in text]
        except KeyError:
            bad = next(char for char in text if char not in index)
            raise ValueError(
                f"character {bad!r} (U+{ord(bad):04X}) in {text!r} is not in the vocabulary"
            ) from None

    def decode(self, indices: Sequence[int] | Iterable[int]) -> str:
        """The text of `indices`; boundary indices (0) are left out."""
        chars = self.characters
        out = []
        for i in indices:
            i = int(i)
            if i == BOUNDARY_INDEX:
                continue
            if not 0 < i < len(self):
                raise ValueError(f"index {i} is out of range for {len(self)} symbols")
            out.append(chars[i - 1])
        return "".join(out)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        return {"format": _FORMAT, "version": _VERSION, "characters": list(self.characters)}

    @classmethod
    def from_dict(cls, data: Any) -> Vocabulary:
        if (
            not isinstance(data, dict)
            or data.get("format") != _FORMAT
            or not isinstance(data.get("characters"), list)
        ):
            raise ValueError("not a chainrule.text vocabulary (expected format and characters)")
        if data.get("version") != _VERSION:
            raise ValueError(f"unsupported vocabulary version {data.get('version')!r}")
        return cls(data["characters"])

    def to_json(self) -> str:
        """The vocabulary as a JSON string (UTF-8 characters kept as they are)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Vocabulary:
        try:
            data = json.loads(text)
        except ValueError as error:
            raise ValueError(f"the vocabulary is not valid JSON: {error}") from None
        return cls.from_dict(data)
