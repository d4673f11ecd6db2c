"""The index's headline numbers (maskutils.publish.headlines) on the committed metrics files
(reports/metrics/*.json) with the committed params (params/*.yaml): every stage's function reads
only keys its stage writes and shows every block the file has; a key missing is reported, by the
function and on the page, never hidden."""

import copy
import json
from pathlib import Path

import pytest

from maskutils.core import fmt
from maskutils.publish import index
from maskutils.publish.headlines import HeadlineError, stage_headlines
from maskutils.stages import REPORTED
from maskutils.stages.bias import run as bias_study

ROOT = Path(__file__).resolve().parents[2]
STAGES = [s.name for s in REPORTED]  # every stage with a report has headlines
METRICS = ROOT / "reports" / "metrics"
ENV = {
    "git": {"commit": "abc1234", "dirty": False, "changed": []},
    "date": "2026-01-02T03:04:05Z",
    "versions": {"python": "3.11.0"},
    "device": "CPU: Test CPU (2 logical cores)",
}


def committed(stage: str) -> dict:
    path = METRICS / f"{stage}.json"
    if not path.is_file():
        pytest.fail(f"{path} is not committed: every reported stage's metrics file should be")
    m = json.loads(path.read_text(encoding="utf-8"))
    m.pop("provenance", None)  # the index pops it too
    return m


@pytest.fixture(scope="module")
def params() -> dict:
    parsed, _ = index.read_params(ROOT / "params")
    assert set(STAGES) <= set(parsed), "params/ lacks a stage's yaml"
    return parsed


def rows_of(stage: str, m: dict, params: dict) -> list:
    try:
        return stage_headlines(stage, m, params)
    except HeadlineError as exc:
        pytest.fail(f"{exc} (reading reports/metrics/{stage}.json with params/*.yaml)")


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_headline_reads_the_committed_metrics(stage, params):
    rows = rows_of(stage, committed(stage), params)
    assert rows and all(isinstance(k, str) and isinstance(v, str) and v for k, v in rows)
    # every number the committed file has is there: a placeholder would hide a key read wrongly
    assert not [(k, v) for k, v in rows if "n/a" in v or "?" in v], rows


def _planted_label(params: dict) -> str:
    h = params["bias"]["planted"]
    return f"{h['direction']} for {h['attribute']} = {h['group']}"


#: A row (label start) each stage must show for the committed files, which have every block.
SHOWN = {
    "eda": ["images", "classes", "near-duplicate groups", "split", "shortcut check"],
    "train": ["task"],
    "kfold": ["folds", "macro-F1, mean", "accuracy, mean", "macro-F1 pooled"],
    "bias": [
        "images audited",
        "mitigation",
        "pre-registered: ",
        "pre-registered difference before -> after mitigation",
        "gaps supported by the data",
        "widest supported gap",
        "macro-F1 before -> after mitigation",
    ],
    "gradcam": ["maps", "CAM energy inside the ROI", "pointing game", "probability drop"],
    "detect": ["scenes", "detection recall", "detection precision", "binary accuracy"],
    "external": ["in-distribution test macro-F1"],
    "calibration": ["temperature", "test ECE raw -> scaled", "out-of-fold ECE"],
}


#: What must show once per model, detector, external set (text in a row's label).
PER_ITEM = {
    "train": lambda m: [r["name"] for r in m["models"].values()],
    "detect": lambda m: [f"{kind}: AP" for kind in m["detectors"]],
    "external": lambda m: [f"{name}: macro-F1" for name in m["sets"]],
    "calibration": lambda m: [f"by {a}" for a in m["groups"]],
}


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_block_of_the_committed_metrics_is_shown(stage, params):
    m = committed(stage)
    labels = [k for k, _ in rows_of(stage, m, params)]
    missing = [want for want in SHOWN[stage] if not any(k.startswith(want) for k in labels)]
    assert not missing, f"{stage}: no row {missing}; rows: {labels}"
    per_item = PER_ITEM.get(stage, lambda m: [])(m)
    assert [x for x in per_item if not any(x in k for k in labels)] == [], labels


def test_bias_shows_the_planted_gap_its_mitigation_and_the_worst_findings(params):
    m = committed("bias")
    rows = dict(rows_of("bias", m, params))
    pl = m["planted"]
    (label,) = [k for k in rows if k.startswith("pre-registered: ")]
    assert _planted_label(params) in label and pl["judged"] and pl["found"]
    assert fmt.ci(pl["before"]["difference"]) in rows[label]
    assert f"p = {pl['p_value']:.3g}" in rows[label] and "found: yes" in rows[label]
    mitigated = rows[
        "pre-registered difference before -> after mitigation (change: positive narrows)"
    ]
    for interval in (pl["before"]["difference"], pl["after"]["difference"], pl["change_after"]):
        assert fmt.ci(interval) in mitigated
    widest = max(
        (g for a in m["attributes"].values() for g in a["gaps"].values() if g["supported"]),
        key=lambda g: g["before"]["difference"]["value"],
    )
    assert any(fmt.ci(widest["before"]["difference"]) in v for v in rows.values())
    assert (
        fmt.ci(m["overall"]["change_after"]["macro_f1"])
        in rows["macro-F1 before -> after mitigation (95% CI)"]
    )


def test_no_hypothesis_and_no_mitigation_are_said_not_dropped(params):
    m = copy.deepcopy(committed("bias"))
    m["planted"] = None
    m["mitigation"] = {"method": "none", "by": [], "oversample_cap": 4.0}
    for a in m["attributes"].values():
        for g in a["gaps"].values():
            g.pop("after"), g.pop("change_after")
    m["overall"] = {"before": m["overall"]["before"]}
    rows = dict(rows_of("bias", m, params))
    assert rows["pre-registered hypothesis"].startswith("none")
    assert rows["mitigation"].startswith("none")
    assert not any("after mitigation" in k or "after mitigation" in v for k, v in rows.items())


def test_nothing_to_audit_is_said_with_its_reason(params):
    """Data without attributes: bias.json holds only `audited: false` and the reason."""
    reason = "the images carry no group attributes"
    m = bias_study.summary(bias_study.NothingToAudit(reason), {})
    assert rows_of("bias", m, params) == [("bias audit", f"not run, nothing to audit: {reason}")]


def test_blocks_a_stage_writes_on_some_data_only_are_said_not_dropped(params):
    g = copy.deepcopy(committed("gradcam"))
    g["localisation"] = {"available": False, "reason": "the data carry no ROI boxes"}
    d = copy.deepcopy(committed("detect"))
    del d["classification"]
    assert dict(rows_of("gradcam", g, params))["CAM energy inside the ROI"].startswith("not ")
    assert dict(rows_of("detect", d, params))["binary accuracy on detected faces"].startswith(
        "not scored"
    )


#: A key each headline function must read (stage, path into its metrics file).
MISSING = [
    ("eda", ("duplicates",)),
    ("eda", ("shortcut", "warning")),
    ("train", ("models", "transfer", "macro_f1")),
    ("train", ("study_model",)),
    ("kfold", ("summary", "accuracy")),
    ("bias", ("planted",)),
    ("bias", ("planted", "before")),
    ("bias", ("planted", "change_after", "value")),
    ("bias", ("attributes", "age", "gaps", "recall_cloth", "p_adjusted")),
    ("bias", ("overall", "before")),
    ("gradcam", ("faithfulness",)),
    ("detect", ("settings", "iou_threshold")),
    ("external", ("sets", "camera", "counts")),
]


def _drop(m: dict, path: tuple) -> dict:
    m = copy.deepcopy(m)
    node = m
    for key in path[:-1]:
        node = node[key]
    assert path[-1] in node, f"{path} is not in the committed file: update MISSING"
    del node[path[-1]]
    return m


@pytest.mark.parametrize("stage, path", MISSING, ids=["/".join(p) for _, p in MISSING])
def test_a_missing_key_raises_naming_the_stage_and_the_key(stage, path, params):
    m = _drop(committed(stage), path)
    with pytest.raises(HeadlineError) as err:
        stage_headlines(stage, m, params)
    assert err.value.stage == stage and repr(path[-1]) in err.value.reason
    assert str(err.value).startswith(f"{stage} headlines: ")


def test_a_missing_params_key_raises_too(params):
    given = copy.deepcopy(params)
    del given["kfold"]["confidence"]
    with pytest.raises(HeadlineError, match="kfold headlines: KeyError: 'confidence'"):
        stage_headlines("kfold", committed("kfold"), given)


def test_the_page_says_which_headline_could_not_be_read(tmp_path, capsys):
    reports = tmp_path / "reports"
    (reports / "metrics").mkdir(parents=True)
    for stage in STAGES:
        m = committed(stage)
        if stage == "bias":
            m = _drop(m, ("planted", "before"))
        (reports / "metrics" / f"{stage}.json").write_text(json.dumps(m))
    page = index.build_index(reports, ROOT / "params", env=ENV).read_text()
    bias = page.split('<div class="stage" id="bias">')[1].split("</div>")[0]
    assert 'badge bad">headlines unreadable<' in bias
    assert "could not be read from bias.json (KeyError: &#x27;before&#x27;)" in bias
    assert "<table>" in bias  # the file's top-level numbers still show
    assert page.count('badge ok">ok<') == len(STAGES) - 1  # the other stages read fine
    assert "index: bias: The headline numbers could not be read" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("low", "high", "word"),
    [(0.02, 0.1, "beats it"), (-0.02, 0.1, "does not beat it"), (-0.1, -0.02, "worse")],
)
def test_train_verdicts_follow_the_paired_interval(params, low, high, word):
    m = copy.deepcopy(committed("train"))
    d = {"value": (low + high) / 2, "ci_low": low, "ci_high": high}
    m["finetune_vs_probe"] = m["vs_random_init"] = {"macro_f1_difference": d}
    rows = dict(rows_of("train", m, params))
    for what in ("its linear probe", "random init"):
        shown = rows[f"verdict: the transfer model vs {what} (macro-F1 difference)"]
        assert shown.startswith(f"{fmt.ci(d)} · {word}")


def test_an_external_sets_verdict_follows_its_gap(params):
    m = copy.deepcopy(committed("external"))
    name = next(iter(m["sets"]))
    m["sets"][name]["gap"]["macro_f1"] = {"value": 0.01, "ci_low": -0.01, "ci_high": 0.03}
    rows = dict(rows_of("external", m, params))
    assert rows[f"verdict: {name}"] == "macro-F1 not shown to differ from in distribution"
    m["sets"][name]["gap"]["macro_f1"] = {"value": 0.2, "ci_low": 0.1, "ci_high": 0.3}
    assert dict(rows_of("external", m, params))[f"verdict: {name}"].startswith("macro-F1 worse")
