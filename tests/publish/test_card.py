"""reports/model_card.html (maskutils.publish.card): every value shown names its file and key and
equals the project's formatting (core.fmt) of that value there; no other digit is in the text a
reader sees; a changed value changes the card; a missing file or key says "not run" or "not
available" instead of breaking the page.

card_metrics/ holds metrics files for the card: train.json and bias.json written by the stages'
own summary() functions on simulated predictions (resampling counts cut down), external.json in
the schema of the external stage (the studied model on two external sets, one with its own bias
audit), and copies of the committed eda, kfold, gradcam and detect files.
"""

import json
import re
import shutil
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from maskutils import cli
from maskutils.core import fmt
from maskutils.core.results import write_metrics
from maskutils.publish.card import page, write_card
from maskutils.publish.html import offline_problems
from maskutils.stages.bias import run as bias_study
from tests.conftest import ROOT

FIXTURES = Path(__file__).parent / "card_metrics"

# The test's own reading of data-fmt, from core.fmt (not the card's code): what a value must show.
EXPECTED = {
    "num": lambda v, d: fmt.num(v, d),
    "ci": lambda v, d: fmt.ci(v, digits=d),
    "mean": lambda v, d: fmt.ci(v["mean"], v["ci_low"], v["ci_high"], d),
    "pct": lambda v, d: fmt.num(float(v) * 100, d) + "%",
    "raw": lambda v, d: str(v),
}
DIGITS = {"num": 3, "ci": 3, "mean": 3, "pct": 0, "raw": 0}

# The only digits a reader may see outside a tagged value: the section numbers of the <h2>
# headings, the paper's year, and the name of the F1 score.
SECTION = re.compile(r"^\d+\. \D+$")
ALLOWED = ("Mitchell et al. 2019", "F1")


class _Card(HTMLParser):
    """Splits a card into its tagged values (attrs, text) and the rest of its visible text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.values, self.text, self.headings = [], [], []
        self._value = self._style = None
        self._h2 = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "style":
            self._style = True
        elif tag == "h2":
            self._h2 = []
        elif "data-src" in a:
            assert self._value is None, "a tagged value inside another"
            self._value = (a, [])
        self.text.append(" ")

    def handle_endtag(self, tag):
        if tag == "style":
            self._style = None
        elif tag == "h2":
            self.headings.append("".join(self._h2))
            self._h2 = None
        elif tag == "span" and self._value is not None:
            a, parts = self._value
            self.values.append((a, "".join(parts)))
            self._value = None

    def handle_data(self, data):
        if self._style:
            return
        if self._value is not None:
            self._value[1].append(data)
        elif self._h2 is not None:
            self._h2.append(data)
        else:
            self.text.append(data)


def _resolve(src: str, docs: dict, metrics: Path, params: Path):
    """(the value a data-src names, its decoded keys); `docs` caches the parsed files."""
    name, _, path = src.partition(":")
    if name not in docs:
        text = ((metrics if name.endswith(".json") else params) / name).read_text()
        docs[name] = json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
    doc = docs[name]
    keys = [p.replace("%2E", ".").replace("%25", "%") for p in path.split(".")]
    for k in keys:
        doc = doc[int(k)] if isinstance(doc, list) else doc[k]
    return doc, keys


def problems(html: str, metrics: Path, params: Path) -> list[str]:
    """Every tagged value that is not its file's value formatted, and every digit a reader sees
    outside one (and outside the allow-list)."""
    card = _Card()
    card.feed(html)
    out, docs = [], {}
    for a, shown in card.values:
        src, kind = a["data-src"], a["data-fmt"]
        try:
            value, keys = _resolve(src, docs, metrics, params)
        except (KeyError, IndexError, TypeError, ValueError, OSError) as exc:
            out.append(f"{src}: not in its file ({type(exc).__name__}: {exc})")
            continue
        if kind == "key":
            want = keys[-1]
        else:
            want = EXPECTED[kind](value, int(a.get("data-digits", DIGITS[kind])))
        if shown != want:
            out.append(f"{src}: shows {shown!r}, the file says {want!r}")
    out += [f"heading {h!r}" for h in card.headings if re.search(r"\d", h) and not SECTION.match(h)]
    text = " ".join("".join(card.text).split())
    for allowed in ALLOWED:
        text = text.replace(allowed, "")
    out += [f"untagged digit: {m.group(0)!r}" for m in re.finditer(r"\S*\d\S*", text)]
    return out


def _values(html: str) -> dict[str, str]:
    card = _Card()
    card.feed(html)
    return {a["data-src"]: shown for a, shown in card.values}


@pytest.fixture
def study(tmp_path):
    """(reports, params): the fixture metrics files and the repository's params files."""
    reports, params = tmp_path / "reports", tmp_path / "params"
    shutil.copytree(FIXTURES, reports / "metrics")
    params.mkdir()
    for path in (ROOT / "params").glob("*.yaml"):
        shutil.copy(path, params)
    return reports, params


def _card(reports: Path, params: Path) -> str:
    return write_card(reports, params, reports / "model_card.html").read_text()


def _edit(path: Path, fn) -> None:
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc))


def test_every_value_matches_its_file_and_no_digit_is_untagged(study):
    reports, params = study
    html = _card(reports, params)
    assert problems(html, reports / "metrics", params) == []
    values = _values(html)
    assert len(values) > 500
    files = {src.partition(":")[0] for src in values}
    assert {p.name for p in FIXTURES.glob("*.json")} <= files
    assert {"prepare.yaml", "train.yaml", "kfold.yaml", "bias.yaml"} <= files
    assert {a for a in re.findall(r'data-fmt="(\w+)"', html)} == {*EXPECTED, "key"}
    # the numbers a reader looks for first
    assert values["train.json:models.transfer.macro_f1"] == "0.973 [0.956, 0.989]"
    assert values["kfold.json:summary.macro_f1"] == "0.859 [0.831, 0.886]"
    assert values["external.json:sets.street_voc.gap.macro_f1"] == "0.227 [0.177, 0.287]"
    assert values["bias.json:min_group"] == "30"
    assert "bias.json:attributes.skin_tone.groups.6" in values  # a group named by a digit
    assert (
        "external.json:sets.street_voc.bias.attributes.gender.gaps.macro_f1.before.difference"
        in values
    )
    assert offline_problems(html) == [] and "<script" not in html


def test_the_sections_of_a_model_card_in_order(study):
    html = _card(*study)
    titles = [t for t, _ in page.SECTIONS]
    assert titles == [
        "Model details",
        "Intended use",
        "Factors",
        "Metrics",
        "Evaluation data",
        "Training data",
        "Quantitative analyses",
        "Ethical considerations",
        "Caveats and recommendations",
    ]
    at = [html.index(f"{k}. {t}</h2>") for k, t in enumerate(titles, 1)]
    assert at == sorted(at) and "not run: no" not in html and "not available" not in html
    assert "{&#x27;" not in html and "{'" not in html  # no interval printed as a raw dict


def test_the_check_fails_on_a_wrong_or_untagged_number(study):
    reports, params = study
    html = _card(reports, params)
    src = 'data-src="train.json:models.transfer.macro_f1" data-fmt="ci" '
    shown = 'title="train.json:models.transfer.macro_f1">0.973 [0.956, 0.989]<'
    assert html.count(src + shown) == 2  # in the comparison and in the test results
    wrong = html.replace(shown, shown.replace("0.973 [", "0.974 ["), 1)
    assert problems(wrong, reports / "metrics", params) == [
        "train.json:models.transfer.macro_f1: shows '0.974 [0.956, 0.989]', "
        "the file says '0.973 [0.956, 0.989]'"
    ]
    typed = html.replace("<h3>Test split</h3>", "<h3>Test split</h3><p>about 0.95</p>")
    assert problems(typed, reports / "metrics", params) == ["untagged digit: '0.95'"]


def test_a_changed_value_changes_the_card(study):
    reports, params = study
    before = _card(reports, params)

    def change(doc):
        doc["models"]["transfer"]["macro_f1"]["value"] = 0.5

    _edit(reports / "metrics" / "train.json", change)
    (params / "train.yaml").write_text(
        (params / "train.yaml").read_text().replace("epochs: 20", "epochs: 21")
    )
    after = _card(reports, params)
    assert after != before and problems(after, reports / "metrics", params) == []
    values = _values(after)
    assert values["train.json:models.transfer.macro_f1"] == "0.500 [0.956, 0.989]"
    assert values["train.yaml:epochs"] == "21"


def test_a_worst_cell_mitigation_is_described_with_its_values(study):
    reports, params = study

    def worst(doc):
        doc["mitigation"] = {"method": "worst_reweight", "by": ["age"], "count": 2, "boost": 3.0}

    _edit(reports / "metrics" / "bias.json", worst)
    html = _card(reports, params)
    assert problems(html, reports / "metrics", params) == []
    values = _values(html)
    assert values["bias.json:mitigation.count"] == "2"
    assert values["bias.json:mitigation.boost"] == "3.0"
    assert "worst age x class cells" in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_kfold_overrides_that_cannot_change_the_studied_model_say_so(study):
    reports, params = study
    text = lambda html: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))  # noqa: E731
    said = "epochs changes only a CNN"
    assert said in text(_card(reports, params))  # the fixture studies a transfer model

    def cnn(doc):
        doc["study_model"] = "cnn"

    _edit(reports / "metrics" / "train.json", cnn)
    assert said not in text(_card(reports, params))


def test_the_pretrained_weights_verdict_follows_its_interval(study):
    reports, params = study
    text = lambda html: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))  # noqa: E731

    def with_random_init(low, high):
        def edit(doc):
            d = {"value": (low + high) / 2, "ci_low": low, "ci_high": high}
            doc["vs_random_init"] = {"macro_f1_difference": d, "accuracy_difference": d, "n": 300}

        return edit

    _edit(reports / "metrics" / "train.json", with_random_init(0.8, 0.9))
    html = _card(reports, params)
    assert problems(html, reports / "metrics", params) == []
    assert "the pretrained weights beat random initialisation" in text(html)
    _edit(reports / "metrics" / "train.json", with_random_init(-0.05, 0.1))
    assert "the pretrained weights do not beat random initialisation" in text(_card(*study))


def test_the_recipe_used_is_said_with_its_name_and_reason(study):
    reports, params = study
    text = lambda html: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))  # noqa: E731
    html = _card(reports, params)
    assert problems(html, reports / "metrics", params) == []
    assert "photos (auto: a folder source): label smoothing 0.1" in text(html)
    assert "then the last 50% of its weight tensors for 8 epochs" in text(html)

    def every_layer(doc):
        doc["recipe"]["settings"]["transfer"]["unfreeze"] = 1.0
        doc["recipe"]["chosen_by"] = None

    _edit(reports / "metrics" / "train.json", every_layer)
    html = _card(reports, params)
    assert problems(html, reports / "metrics", params) == []
    assert "photos: label smoothing" in text(html)
    assert "then every layer for 8 epochs" in text(html)
    _edit(reports / "metrics" / "train.json", lambda doc: doc.pop("recipe"))
    assert "not recorded (a train.json older than its recipe)" in text(_card(reports, params))


def test_an_external_sets_verdict_follows_its_gap(study):
    reports, params = study
    text = lambda html: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))  # noqa: E731
    name = next(iter(json.loads((reports / "metrics" / "external.json").read_text())["sets"]))

    def gap(low, high):
        def edit(doc):
            doc["sets"][name]["gap"]["macro_f1"] = {"value": 0, "ci_low": low, "ci_high": high}

        return edit

    _edit(reports / "metrics" / "external.json", gap(0.1, 0.3))
    assert f"on {name} the model is worse than in distribution" in text(_card(reports, params))
    _edit(reports / "metrics" / "external.json", gap(-0.1, 0.3))
    said = f"on {name} the model is not shown to differ from in distribution"
    assert said in text(_card(reports, params))


def test_missing_files_say_not_run(tmp_path):
    html = write_card(tmp_path / "reports", tmp_path / "params", tmp_path / "card.html").read_text()
    assert problems(html, tmp_path, tmp_path) == [] and offline_problems(html) == []
    assert html.count("not run: no <code>metrics/") >= 8 and "not run: no <code>params/" in html
    assert "Model card: the studied model" in html and _values(html) == {}


def test_older_metrics_files_degrade_part_by_part(study):
    """The keys newer stages add (study_model, paired, family, mde, the pre-registered test's
    schema, provenance) missing: those parts say so; everything else still shows."""
    reports, params = study
    m = reports / "metrics"

    def old_train(doc):
        for k in ("study_model", "paired", "provenance"):
            doc.pop(k)

    def old_bias(doc):
        doc.pop("family"), doc.pop("mde")
        doc["planted"] = {"attribute": "gender", "group": "female", "found": True}
        for a in doc["attributes"].values():
            for g in a["gaps"].values():
                g.pop("p_adjusted"), g.pop("mde")

    _edit(m / "train.json", old_train)
    _edit(m / "bias.json", old_bias)
    (m / "external.json").unlink()
    html = _card(reports, params)
    assert problems(html, m, params) == []
    assert "The studied model is not known: train.json has no study_model" in html
    assert "not available: train.json has no study_model" in html  # the test split's part
    assert "not available: bias.json has no planted.metric" in html
    assert "not run: no <code>metrics/external.json</code>" in html
    assert "Outside the training source</b>: not measured" in html
    values = _values(html)
    assert values["kfold.json:pooled_macro_f1"] == "0.860"  # other parts unaffected
    assert "bias.json:attributes.gender.gaps.recall_cloth.before.difference" in values


def test_nothing_to_audit_is_said_with_its_reason_wherever_the_audit_shows(study):
    """Photos without attributes: bias.json holds only `audited: false` and the reason (as the
    fixture's external set `camera` does); every part that shows the audit says so instead."""
    reports, params = study
    m = reports / "metrics"
    reason = json.loads((m / "external.json").read_text())["sets"]["camera"]["bias"]["reason"]
    write_metrics(m / "bias.json", bias_study.summary(bias_study.NothingToAudit(reason), {}))
    html = _card(reports, params)
    assert problems(html, m, params) == [] and "not available" not in html
    values = _values(html)
    assert values["bias.json:reason"] == values["external.json:sets.camera.bias.reason"] == reason
    assert values["external.json:sets.street_voc.bias.overall.before.macro_f1"]  # still audited
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    for said in (
        "Not audited by group: ",  # factors
        "groups not measured, nothing to audit: ",  # metrics
        "bias audit none, nothing to audit: ",  # evaluation data
        "By group not run, nothing to audit: ",  # quantitative analyses
        "Groups. Not audited: ",  # ethical considerations
    ):
        assert said + reason in text, said


def test_unreadable_file_is_named_without_its_error_text(study):
    reports, params = study
    (reports / "metrics" / "bias.json").write_text("{not json")
    html = _card(reports, params)
    assert "<code>metrics/bias.json</code> is unreadable (JSONDecodeError)" in html
    assert problems(html, reports / "metrics", params) == []


def test_binary_rates_of_an_external_set_are_tagged(study):
    reports, params = study

    def binary(doc):
        met = doc["sets"]["camera"]["metrics"]
        met["positive"] = "no_mask"
        met["sensitivity"] = {"value": 0.8, "ci_low": 0.7, "ci_high": 0.9}
        met["specificity"] = {"value": 0.95, "ci_low": 0.9, "ci_high": 0.99}

    _edit(reports / "metrics" / "external.json", binary)
    html = _card(reports, params)
    values = _values(html)
    assert values["external.json:sets.camera.metrics.sensitivity"] == "0.800 [0.700, 0.900]"
    assert values["external.json:sets.camera.metrics.positive"] == "no_mask"
    assert problems(html, reports / "metrics", params) == []


@pytest.mark.skipif(
    not (ROOT / "reports" / "metrics" / "train.json").is_file(), reason="no committed metrics"
)
def test_the_committed_metrics_files(tmp_path):
    html = write_card(ROOT / "reports", ROOT / "params", tmp_path / "card.html").read_text()
    assert problems(html, ROOT / "reports" / "metrics", ROOT / "params") == []
    assert offline_problems(html) == [] and len(_values(html)) > 200


def test_command_line(study, capsys):
    reports, params = study
    out = reports / "card.html"
    assert (
        cli.main(["card", "--reports", str(reports), "--params", str(params), "--out", str(out)])
        == 0
    )
    assert out.is_file() and "wrote" in capsys.readouterr().out
    assert 'href="index.html"' in out.read_text()


def test_the_card_stage_tracks_the_files_it_reads():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    card = stages["card"]
    assert (
        card["cmd"]
        == "maskutils card --reports reports --params params --out reports/model_card.html"
    )
    assert card["outs"] == [{"reports/model_card.html": {"cache": False}}]
    reads = {f"reports/metrics/{n}" for n in page.FILES if n.endswith(".json")}
    tracked = {d for d in card["deps"] if d.startswith("reports/metrics/")}
    assert tracked == reads
    assert {"maskutils/core", "maskutils/publish", "params"} <= set(card["deps"])
    assert "reports/model_card.html" in stages["index"]["deps"]
