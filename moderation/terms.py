"""Blocked terms matched as people write them: one compiled matcher per set of terms.

Two match modes. `word`: the term as a whole word. `forms`: also its plural and common
forms (s, es, ies, ed, ing, er, ers), with look-alikes folded (0→o, 1→i or l, 3→e, 4→a,
5→s, 7→t, @→a, $→s) and a letter stretched to three or more ("spoooiler") read as one.
Both modes ignore case and accents, and both match whole words only, so that "class"
is not "ass" and "grapes" is not "ape" (the Scunthorpe problem).

The writer runs this on every post: the terms of one action and mode are merged into a
single regex (a trie, so each position in the text is tried once per set, not once per
term), compiled once per set of terms and cached.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache

REJECT = "reject"
HOLD = "hold"
WORD = "word"
FORMS = "forms"

# Look-alikes with one reading. "1" reads as i or as l, so it stays in the text and the
# patterns of i and l accept it.
LOOKALIKES = str.maketrans({"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
AMBIGUOUS = {"i": "[i1]", "l": "[l1]"}
# Four or more of one character read as three: stretching is unbounded, patterns are not.
STRETCHED = re.compile(r"(.)\1{3,}")
SUFFIXES = ("s", "es", "ed", "ing", "er", "ers")
VOWELS = frozenset("aeiou")


@dataclass(frozen=True)
class Term:
    """A blocked term as the matcher needs it."""

    id: int
    term: str
    action: str  # REJECT or HOLD
    match: str  # WORD or FORMS


def plain(text: str) -> str:
    """Lower-case `text` without accents ("Spóiler" → "spoiler")."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.casefold().replace("\u2019", "'")


def folded(text: str) -> str:
    """`plain(text)` with look-alikes read as letters and long stretches cut to three."""
    return STRETCHED.sub(r"\1\1\1", plain(text).translate(LOOKALIKES))


def word_forms(term: str) -> set[str]:
    """The term and its plural and common forms ("party" → "parties", "ban" → "banned")."""
    forms = {term} | {term + suffix for suffix in SUFFIXES}
    if term.endswith("e"):
        # hate → hated, hater, haters, hating
        forms |= {term + "d", term + "r", term + "rs", term[:-1] + "ing"}
    elif term.endswith("y") and len(term) > 1 and term[-2] not in VOWELS:
        forms |= {term[:-1] + "ies", term[:-1] + "ied"}
    elif _short_closed(term):
        # ban → banned, banning, banner: the last consonant doubles.
        forms |= {term + term[-1] + suffix for suffix in ("ed", "ing", "er", "ers")}
    return forms


def _short_closed(term: str) -> bool:
    return (
        len(term) >= 3
        and term[-1].isalpha()
        and term[-1] not in VOWELS | {"w", "x", "y"}
        and term[-2] in VOWELS
        and term[-3] not in VOWELS
    )


def _word_units(text: str) -> list[str]:
    return [re.escape(c) for c in text]


def _forms_units(text: str) -> list[str]:
    """One pattern per run of a letter: a single letter also matches a stretch of three,
    a double one two or three. A double letter is not a single one stretched: "goods" is
    not "gods"."""
    units = []
    for run in re.finditer(r"(.)\1*", text):
        char, length = run.group(1), len(run.group(0))
        if char.isspace():
            units.append(r"\s+")
            continue
        unit = AMBIGUOUS.get(char, re.escape(char))
        units.append(f"{unit}(?:{unit}{unit})?" if length == 1 else f"{unit}{{{min(length, 3)},3}}")
    return units


def _trie_pattern(sequences: list[list[str]]) -> str:
    """One alternation for many sequences of units, sharing their common prefixes."""
    trie: dict = {}
    for units in sequences:
        node = trie
        for unit in units:
            node = node.setdefault(unit, {})
        node[""] = {}
    return _node_pattern(trie)


def _node_pattern(node: dict) -> str:
    ends = "" in node
    branches = [unit + _node_pattern(child) for unit, child in node.items() if unit != ""]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends:
        body = f"(?:{body})?"
    return body


def _whole_words(body: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)")


def _units(term: Term) -> list[list[str]]:
    if term.match == FORMS:
        return [_forms_units(form) for form in sorted(word_forms(folded(term.term)))]
    return [_word_units(plain(term.term))]


class TermSet:
    """The terms of one action and mode, merged into one pattern."""

    def __init__(self, terms: list[Term], mode: str) -> None:
        self.mode = mode
        self.terms = terms
        self.pattern = _whole_words(_trie_pattern([u for t in terms for u in _units(t)]))

    @cached_property
    def _each(self) -> list[tuple[Term, re.Pattern[str]]]:
        # Only to tell, after a hit, which of the terms it was: compiled at the first hit.
        return [(t, _whole_words(_trie_pattern(_units(t)))) for t in self.terms]

    def find(self, plain_text: str, folded_text: str) -> Term | None:
        text = folded_text if self.mode == FORMS else plain_text
        hit = self.pattern.search(text)
        if hit is None:
            return None
        return next(t for t, pattern in self._each if pattern.fullmatch(hit.group(0)))


class TermMatcher:
    """Finds the blocked term that acts on a comment: a `reject` term before a `hold` one."""

    def __init__(self, terms: tuple[Term, ...]) -> None:
        # A term of accents or spaces only would normalise to nothing and match everything.
        usable = [t for t in terms if plain(t.term).strip()]
        self.sets = [
            TermSet(chosen, mode)
            for action in (REJECT, HOLD)
            for mode in (WORD, FORMS)
            if (chosen := [t for t in usable if (t.action, t.match) == (action, mode)])
        ]
        self.needs_folding = any(s.mode == FORMS for s in self.sets)

    def find(self, content: str) -> Term | None:
        if not self.sets:
            return None
        plain_text = plain(content)
        folded_text = folded(content) if self.needs_folding else plain_text
        for term_set in self.sets:
            if (term := term_set.find(plain_text, folded_text)) is not None:
                return term
        return None


@lru_cache(maxsize=8)
def matcher(terms: tuple[Term, ...]) -> TermMatcher:
    """The matcher of this set of terms, compiled once while the set stays the same."""
    return TermMatcher(terms)
