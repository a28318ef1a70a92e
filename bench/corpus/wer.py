"""The one text normalisation of the corpus benchmark, and its WER.

Every runner's hypotheses and the references go through the same `normalize`:
  1. Unicode NFKC, lowercase, typographic apostrophes to "'";
  2. numbers as spoken: "1961" -> "nineteen sixty one" (4-digit numbers 1100-1999 and
     2010-2099 are read as years), "42" -> "forty two", "3.5" -> "three point five",
     "1st" -> "first", "1,000" -> "one thousand", "%" -> "percent";
  3. punctuation and symbols removed except apostrophes inside words; hyphens split words;
  4. whitespace collapsed.
WER is corpus-level: all word errors over all reference words (jiwer), not a mean of
per-file rates, so long files weigh as much as their words.
"""
from __future__ import annotations

import re
import unicodedata

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
            "nine": "ninth", "twelve": "twelfth"}


def _below_100(n: int) -> str:
    if n < 20:
        return _ONES[n]
    return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])


def _below_1000(n: int) -> str:
    if n < 100:
        return _below_100(n)
    rest = n % 100
    return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + _below_100(rest))


def cardinal(n: int) -> str:
    if n < 1000:
        return _below_1000(n)
    for value, name in _SCALES:
        if n >= value:
            head, rest = divmod(n, value)
            return cardinal(head) + " " + name + ("" if rest == 0 else " " + cardinal(rest))
    raise AssertionError("unreachable")


def _year(n: int) -> str:
    hi, lo = divmod(n, 100)
    if lo == 0:
        return _below_100(hi) + " hundred"
    return _below_100(hi) + " " + ("oh " + _ONES[lo] if lo < 10 else _below_100(lo))


def ordinal(n: int) -> str:
    words = cardinal(n).split()
    last = words[-1]
    if last in _ORDINAL:
        words[-1] = _ORDINAL[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def _number(match: re.Match) -> str:
    digits, frac, suffix = match["int"].replace(",", ""), match["frac"], match["suffix"]
    if len(digits) > 15:  # not a spoken quantity: spell digit by digit
        return " " + " ".join(_ONES[int(d)] for d in digits) + " "
    n = int(digits)
    if suffix:
        return " " + ordinal(n) + " "
    if frac:
        return " " + cardinal(n) + " point " + " ".join(_ONES[int(d)] for d in frac) + " "
    if len(digits) == 4 and (1100 <= n <= 1999 or 2010 <= n <= 2099):
        return " " + _year(n) + " "
    return " " + cardinal(n) + " "


_NUMBER_RE = re.compile(r"(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?(?P<suffix>st|nd|rd|th)?\b")


def normalize(text: str) -> str:
    t = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'").replace("\u2018", "'")
    t = t.replace("%", " percent ")
    t = _NUMBER_RE.sub(_number, t)
    out = []
    for ch in t:
        cat = unicodedata.category(ch)
        out.append(ch if ch == "'" or not (cat.startswith("P") or cat.startswith("S")) else " ")
    # Apostrophes survive only inside words ("don't"), not as quotes ("'hello'").
    words = [w.strip("'") for w in "".join(out).split()]
    return " ".join(w for w in words if w)


def corpus_wer(references: list[str], hypotheses: list[str]) -> dict:
    """Corpus-level WER (percent) of normalised texts, with the error counts behind it."""
    import jiwer

    refs = [normalize(r) for r in references]
    hyps = [normalize(h) for h in hypotheses]
    # jiwer rejects empty references; such a file contributes only insertions.
    keep = [i for i, r in enumerate(refs) if r]
    insertions_only = sum(len(hyps[i].split()) for i, r in enumerate(refs) if not r)
    out = jiwer.process_words([refs[i] for i in keep], [hyps[i] for i in keep])
    errors = out.substitutions + out.deletions + out.insertions + insertions_only
    words = sum(len(refs[i].split()) for i in keep)
    return {"wer": 100.0 * errors / words if words else None, "ref_words": words,
            "substitutions": out.substitutions, "deletions": out.deletions,
            "insertions": out.insertions + insertions_only}


if __name__ == "__main__":  # quick self-check of the normalisation
    cases = {
        "In 1961, he said: \"Ask not!\"": "in nineteen sixty one he said ask not",
        "It's 42% of $1,000.": "it's forty two percent of one thousand",
        "The 21st-century 3.5 'ideas'": "the twenty first century three point five ideas",
        "AS YOU KNOW": "as you know",
        "1905 and 2005": "nineteen oh five and two thousand five",
    }
    for src, want in cases.items():
        got = normalize(src)
        assert got == want, (src, got, want)
    print("wer.py: normalisation self-check ok")
