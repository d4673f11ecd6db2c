import numpy as np
import pandas as pd
import pytest

from maskutils.prepare.splits import assign


def _manifest(n=600, seed=0, group_every=5):
    rng = np.random.default_rng(seed)
    labels = rng.choice(["cloth", "n95", "no_mask", "surgical"], n, p=[0.4, 0.3, 0.2, 0.1])
    groups = np.arange(n)
    dup = rng.choice(n, n // group_every, replace=False)
    groups[dup] = groups[rng.choice(dup, len(dup))]  # chains of copies
    for g in np.unique(groups):  # copies share their label, as in real data
        labels[groups == g] = labels[groups == g][0]
    return pd.DataFrame(
        {
            "image_id": [f"i{i}" for i in range(n)],
            "label": labels,
            "dup_group": groups,
            "gender": rng.choice(["female", "male"], n),
        }
    )


def test_groups_never_span_splits_or_folds():
    df = assign(_manifest(), 0.2, 0.1, 5, seed=0)
    for _, g in df.groupby("dup_group"):
        assert g["split"].replace("val", "train").nunique() == 1
        assert g["fold"].nunique() == 1


def test_fractions_and_stratification():
    df = assign(_manifest(), 0.2, 0.1, 5, seed=0)
    assert abs((df["split"] == "test").mean() - 0.2) < 0.03
    overall = df["label"].value_counts(normalize=True)
    for part in (df[df["split"] == "test"], *(g for _, g in df[df["fold"] >= 0].groupby("fold"))):
        share = part["label"].value_counts(normalize=True).reindex(overall.index, fill_value=0)
        assert (share - overall).abs().max() < 0.05


def test_folds_partition_the_pool():
    df = assign(_manifest(), 0.2, 0.1, 5, seed=0)
    pool = df["split"].isin(["train", "val"])
    assert (df.loc[pool, "fold"] >= 0).all() and (df.loc[~pool, "fold"] == -1).all()
    assert sorted(df.loc[pool, "fold"].unique()) == [0, 1, 2, 3, 4]


def test_deterministic_per_seed():
    a, b, c = (assign(_manifest(), 0.2, 0.1, 5, seed=s) for s in (1, 1, 2))
    assert a.equals(b) and not a["split"].equals(c["split"])


def test_cue_rows_and_their_copies_stay_in_the_pool():
    df = _manifest()
    df["cue"] = (df["label"] == "cloth") & (np.arange(len(df)) % 5 != 0)
    out = assign(df, 0.2, 0.1, 5, seed=0)
    cue_groups = set(out.loc[out["cue"], "dup_group"])
    assert (out.loc[out["dup_group"].isin(cue_groups), "split"] != "test").all()
    assert (
        (out["split"] == "test") & (out["label"] == "cloth")
    ).any()  # cloth still tested, cue-free


def test_planted_bias_keeps_a_fraction_of_the_pool_cell():
    df = _manifest()
    out = assign(
        df,
        0.2,
        0.1,
        5,
        seed=0,
        plant_bias={"where": {"gender": "female", "label": "cloth"}, "keep": 0.1},
    )
    cell = (out["gender"] == "female") & (out["label"] == "cloth")
    pool_before = cell & (out["split"] != "test")
    kept = (cell & out["split"].isin(["train", "val"])).sum()
    assert abs(kept - 0.1 * pool_before.sum()) <= 1
    assert (out.loc[out["split"] == "excluded", "label"] == "cloth").all()
    assert ((out["split"] == "test") & cell).sum() > 0  # the test set keeps its female cloth images
    excluded = out["split"] == "excluded"
    assert (out.loc[excluded, "fold"] >= 0).all()  # still in a fold: predicted out of fold, audited
    assert (out.loc[out["split"] == "test", "fold"] == -1).all()
    with pytest.raises(KeyError, match="plant_bias.where.hair"):
        assign(df, 0.2, 0.1, 5, seed=0, plant_bias={"where": {"hair": "long"}, "keep": 0.5})
