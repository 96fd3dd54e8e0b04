"""Text folding one character at a time gives what folding the whole text gives.

``text._fold`` (behind ``normalize_text``, tokens, fingerprints and tagging) folds most
non-ASCII text character by character: each distinct character's fold is cached, and offsets
are kept when every character folds into exactly one. The whole-text fold (NFKC, case fold,
accents, typographic punctuation) is the reference; the two must never differ, and kept
offsets must really be the text's.
"""

from __future__ import annotations

from budget import examples
from hypothesis import example, given, settings
from hypothesis import strategies as st

from newswatch.text import _CharacterFolds, _fold, _fold_whole

# Letters with and without accents (composed and decomposed), capital and final sigma, the
# dotted capital I, ligatures, compatibility digits, soft hyphens, zero-width and no-break
# spaces, typographic punctuation, Hangul (syllables, jamo, compatibility jamo), Indic signs.
_TRICKY = list(
    "AaÉéèe\u0301\u0327ÜüßẞΣσςİıﬁﬀ™½①²ⅨǅǈÅÅ\u00ad\u200b\u00a0—–‘’“”´`¨˘ͺʰ"
    "한ᄀ\u1161ㄱㅏ\u0915\u093f\u0cc6\u0cc2ꭰᏸ"
)
TEXT = st.text(
    st.one_of(st.sampled_from(_TRICKY), st.characters(exclude_categories=("Cs",))),
    max_size=40,
)


@settings(max_examples=examples(2_000), deadline=None)
@given(TEXT)
@example("ΟΔΟΣ ΣΑΣ")  # capital sigma: final or not, by context in lower(), never in casefold()
@example("İstanbul")  # lower() gives two characters, the fold one
@example("ᄀ\u1161 ㄱㅏ")  # jamo compose into syllables
@example("e\u0301 café")  # a combining accent after a letter
def test_folding_by_character_is_folding_the_whole(text: str) -> None:
    folded, aligned = _fold(text)
    assert folded == _fold_whole(text)[0]
    if aligned:
        # Offsets kept: each character became exactly the one its own fold gives.
        assert len(folded) == len(text)
        assert folded == "".join(
            _fold_whole(char)[0] if not char.isascii() else char.lower().replace("`", "'")
            for char in text
        )


def test_capital_sigma_is_never_left_to_lower_casing() -> None:
    # Once a few dozen new characters are waiting, the pattern of characters lower-casing
    # alone folds is remade; capital sigma must stay out of it, or "ΟΔΟΣ" would end in "ς".
    folds = _CharacterFolds()
    warm_up = "Σ " + "".join(chr(c) for c in range(0x3B1, 0x3CA)) + " " + "абвгдежзиклмнопрс"
    assert folds.fold(warm_up) is not None
    for text in ("ΟΔΟΣ ΣΑΣ", "ΟΔΟΣ.", "ἈΣ"):
        folded = folds.fold(text)
        assert folded is not None
        assert folded[0] == _fold_whole(text)[0], text
