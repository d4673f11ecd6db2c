"""The most confused pair of classes, and examples of each direction, from a predictions table."""

import pandas as pd

from maskutils.modeling.evaluate import confusion_examples, worst_pair, worst_pair_text


def _table(pairs):
    rows = [
        {"image_id": f"i{k}", "true": t, "pred": p, "p_a": c, "p_b": c, "p_c": c}
        for k, (t, p, c) in enumerate(pairs)
    ]
    return pd.DataFrame(rows)


def test_the_pair_counts_both_directions():
    # a->b twice and b->a twice beat c->a three times
    t = _table(
        [("a", "b", 0.9), ("a", "b", 0.6), ("b", "a", 0.7), ("b", "a", 0.8)]
        + [("c", "a", 0.5)] * 3
        + [("a", "a", 0.9)] * 5
    )
    assert worst_pair(t) == ("a", "b", 2, 2)
    ex = confusion_examples(t, 1)
    assert list(ex["caption"]) == ["a → b (0.90)", "b → a (0.80)"]
    assert "2 of 7 a images are called b" in worst_pair_text(t)


def test_no_mistakes_no_pair():
    t = _table([("a", "a", 0.9), ("b", "b", 0.8)])
    assert worst_pair(t) is None and len(confusion_examples(t, 3)) == 0
    assert "No image is misclassified" in worst_pair_text(t)
