"""A read-only table from words to numbers in about a tenth of a dict's memory.

The lint's word lists (syllables a word, how common words and word pairs are)
hold some 250,000 words. As a dict of strings that is about 100 bytes a word, 28
MB in every web process; here it is the words' hashes, sorted, in one array and
each word's number beside it in another: 9-16 bytes a word. A lookup is a binary
search (about 0.8 µs, where a dict takes a tenth of that), and the
lint looks up a few dozen words a text, once per text (it is cached).

The hashes are Python's own `hash(str)`, which differs from one process to the
next: a table is built in the process that uses it, and is never stored. That two
words of a table share a 64-bit hash is about one chance in 10^9 at this size; it
would only give one of them the other's number.
"""

from array import array
from bisect import bisect_left
from collections.abc import Iterable


class WordTable:
    """Looked up as a dict is (`word in table`, `table[word]`, `table.get(word)`); it cannot list its words."""

    def __init__(self, items: Iterable[tuple[str, float]], typecode: str) -> None:
        keys: list[int] = []
        values: list[float] = []
        for word, value in items:
            keys.append(hash(word))
            values.append(value)
        order = sorted(range(len(keys)), key=keys.__getitem__)
        self._keys = array("q", [keys[i] for i in order])
        self._values = array(typecode, [values[i] for i in order])

    def get(self, word: str, default: float | None = None) -> float | None:
        key = hash(word)
        at = bisect_left(self._keys, key)
        if at < len(self._keys) and self._keys[at] == key:
            return self._values[at]
        return default

    def __getitem__(self, word: str) -> float:
        found = self.get(word)
        if found is None:
            raise KeyError(word)
        return found

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.get(word) is not None

    def __len__(self) -> int:
        return len(self._keys)
