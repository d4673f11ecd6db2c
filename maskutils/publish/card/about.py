"""The card's first sections (Mitchell et al.): model details, intended use, factors and metrics.
The prose is written here; every value in it is read through `Sources`."""

from __future__ import annotations

from maskutils.core import stats
from maskutils.publish.card.layout import e, facts, inline, note, part, table
from maskutils.publish.card.source import Missing, Sources

T, P, B = "train.json", "train.yaml", "bias.json"


def study(s: Sources) -> str:
    """The kind of the studied model (train.json `study_model`); it must have results."""
    kind = s.get(T, "study_model")
    s.get(T, "models", kind)
    return kind


def audited(s: Sources, name: str, *base) -> bool:
    """Whether the audit block at `base` of `name` (bias.json, an external set's `bias`) holds an
    audit: a stage writes `audited: false`, with the `reason`, only when nothing was audited."""
    return not s.has(name, *base, "audited") or bool(s.get(name, *base, "audited"))


def unaudited(s: Sources, name: str, *base) -> str:
    """Why the audit block at `base` holds no audit, tagged."""
    return s.v(name, *base, "reason", fmt="raw")


def items(s: Sources, name: str, *at) -> str:
    """Every item of a list (classes, attributes), tagged, comma-separated."""
    return ", ".join(s.v(name, *at, i) for i in range(len(s.get(name, *at))))


def pairs(s: Sources, name: str, *at) -> str:
    """'key = value' of every entry of a table (e.g. plant_bias.where), both tagged."""
    return ", ".join(f"{s.key(name, *at, k)} = {s.v(name, *at, k)}" for k in s.keys(name, *at))


def raw(s: Sources, name: str, *at) -> str:
    """A params value as written: a float as Python spells it (0.0003), anything else by
    `fmt.num` (1,000)."""
    return s.v(name, *at, fmt="raw" if isinstance(s.get(name, *at), float) else "num")


# ---- model details ------------------------------------------------------------------------


def model_details(s: Sources) -> str:
    return (
        part(s, _studied, T)
        + "<h3>Training recipe</h3>"
        + part(s, _recipe, P, T)
        + "<h3>Every trained model on the same test images</h3>"
        + part(s, _comparison, T)
    )


def _studied(s: Sources) -> str:
    try:
        kind = study(s)
    except Missing as exc:
        named = inline(s, lambda s: f" <code>params/train.yaml</code> names {s.v(P, 'model')}.", "")
        return note(f"The studied model is not known: {e(exc)} (written by older code?).{named}")
    m = ("models", kind)
    rows = [
        ("model", s.v(T, *m, "name")),
        ("kind", s.key(T, *m) + ": the model the k-fold, bias, Grad-CAM and detect stages study"),
        ("parameters", s.v(T, *m, "parameters")),
        ("best epoch", s.v(T, *m, "best_epoch")),
        ("task", f"{s.v(T, 'task')}: one face crop in, one of {items(s, T, 'classes')} out"),
        ("developed by", "the maskstudy project's pipeline (<code>dvc repro</code>)"),
    ]
    if s.has(T, "provenance"):
        p = ("provenance",)
        rows.append(
            (
                "made with",
                f"torch {s.v(T, *p, 'torch')} on {s.v(T, *p, 'cpu')}, "
                f"device {s.v(T, *p, 'device')}",
            )
        )
    return facts(rows)


def _recipe(s: Sources) -> str:
    rows = [
        ("input", inline(s, _input, "not recorded (a train.json older than its resolution)")),
        (
            "optimisation",
            f"up to {raw(s, P, 'epochs')} epochs, batch {raw(s, P, 'batch_size')}, learning rate "
            f"{raw(s, P, 'lr')} ({raw(s, P, 'schedule')} schedule), weight decay "
            f"{raw(s, P, 'weight_decay')}, early stopping after {raw(s, P, 'patience')} epochs "
            f"without gain, class weights {raw(s, P, 'class_weights')}, seed {raw(s, P, 'seed')}",
        ),
    ]
    if s.get(P, "model") == "transfer":
        t = ("transfer",)
        rows.append(
            (
                "transfer",
                f"{raw(s, P, *t, 'backbone')} from {raw(s, P, *t, 'weights')} weights, fed at "
                f"{inline(s, _fed, 'its side')}: the head alone for "
                f"{raw(s, P, *t, 'head_epochs')} epochs, then every layer for "
                f"{raw(s, P, *t, 'epochs')} at learning rate {raw(s, P, *t, 'lr')}",
            )
        )
    return facts(rows)


def _fed(s: Sources) -> str:
    return f"{s.v(T, 'models', 'transfer', 'input_px')} px"


def _input(s: Sources) -> str:
    """The cache side, how it was chosen, and the studied model's input side, upsampling said."""
    text = f"face crops cached at {s.v(T, 'resolution', 'cached_px')} px"
    if s.has(T, "resolution", "auto"):
        text += f" (<code>image_size: auto</code>: {s.v(T, 'resolution', 'auto', 'rule')})"
    m = ("models", study(s))
    if s.has(T, *m, "input_px"):
        text += f"; the studied model is fed at {s.v(T, *m, 'input_px')} px"
        if s.get(T, *m, "upsampled"):
            text += ", <b>upsampled</b> from the cache (no detail is added)"
    return text


def _comparison(s: Sources) -> str:
    def score(k):
        v = s.get(T, "models", k, "macro_f1", "value")
        return -1.0 if v is None else v

    studied = s.get(T, "study_model") if s.has(T, "study_model") else None
    rows = [
        [
            s.v(T, "models", k, "name") + (" <b>(studied)</b>" if k == studied else ""),
            s.key(T, "models", k),
            s.v(T, "models", k, "parameters"),
            s.v(T, "models", k, "macro_f1", fmt="ci"),
            s.v(T, "models", k, "accuracy", fmt="ci"),
            s.v(T, "models", k, "n"),
        ]
        for k in sorted(s.keys(T, "models"), key=lambda k: -score(k))
    ]
    out = table(["model", "kind", "parameters", "macro-F1", "accuracy", "test images"], rows)
    out += inline(
        s,
        lambda s: (
            f"<p>Intervals: {s.v(P, 'evaluate', 'confidence', fmt='pct')} bootstrap "
            "percentile intervals over the test images.</p>"
        ),
        "",
    )
    if s.has(T, "paired"):
        p = ("paired",)
        a, b = s.get(T, *p, "a"), s.get(T, *p, "b")
        out += (
            f"<p>The best two, paired on the same {s.v(T, *p, 'n')} images: "
            f"{s.v(T, 'models', a, 'name')} minus {s.v(T, 'models', b, 'name')}: macro-F1 "
            f"{s.v(T, *p, 'macro_f1_difference', fmt='ci')}, accuracy "
            f"{s.v(T, *p, 'accuracy_difference', fmt='ci')}; images only the first gets right "
            f"{s.v(T, *p, 'only_a_right')}, only the second {s.v(T, *p, 'only_b_right')} "
            f"(McNemar exact p = {s.v(T, *p, 'mcnemar_p')}).</p>"
        )
    if s.has(T, "finetune_vs_probe"):
        d = ("finetune_vs_probe", "macro_f1_difference")
        verdict = {1: "beats", 0: "does not beat", -1: "is worse than"}[stats.sign(s.get(T, *d))]
        out += (
            "<p>Fine-tuning against the linear probe (the same ImageNet backbone frozen, the head "
            f"trained on its features), paired on the same images: macro-F1 difference "
            f"{s.v(T, *d, fmt='ci')}: fine-tuning <b>{verdict}</b> the probe.</p>"
        )
    return out


# ---- intended use -------------------------------------------------------------------------


def intended_use(s: Sources) -> str:
    task = inline(s, lambda s: f" ({items(s, T, 'classes')})", "")
    size = inline(s, lambda s: f" of {s.v(T, 'resolution', 'cached_px')} px", "")
    scenes = inline(
        s,
        lambda s: (
            f" (in the detect stage's scenes the detector found "
            f"{s.v('detect.json', 'recall', fmt='ci')} of the annotated faces)"
        ),
        "",
    )
    return (
        "<p><b>Primary use.</b> A research and teaching model: it sorts one cropped, roughly "
        f"frontal face image{size} into a mask type{task}, so that a study can show how a "
        "classifier's errors depend on the data, on groups of people and on a change of "
        "source, every number with its uncertainty.</p>"
        "<p><b>Primary users.</b> Researchers, students and reviewers reproducing or auditing "
        "the study.</p>"
        "<p><b>Out of scope.</b> Enforcing mask rules or sanctioning anyone; identifying, "
        "tracking or profiling people; judging whether a mask fits or protects (the classes "
        "are visual types, not a certification); medical or occupational-safety decisions; "
        f"whole scenes without a face detector{scenes}; any image source it was not measured "
        "on (see Evaluation data and the external sets below) without measuring it there "
        "first.</p>"
    )


# ---- factors ------------------------------------------------------------------------------


def factors(s: Sources) -> str:
    return (
        "<p><b>Relevant factors.</b> Who is pictured (the attributes the data record), which "
        "mask type they wear (the class), where the images come from (source, camera, "
        "lighting, resolution) and, in scenes, how large the face is.</p>"
        "<p><b>Evaluation factors.</b></p>"
        + part(s, _audited, B)
        + part(s, _planted, "prepare.yaml")
    )


def _audited(s: Sources) -> str:
    if not audited(s, B):
        return (
            f"<p>Not audited by group: {unaudited(s, B)}. How the model does for different "
            "people is not measured.</p>"
        )
    groups = ", ".join(s.key(B, "attributes", a) for a in s.keys(B, "attributes"))
    m = ("mitigation",)
    by = items(s, B, *m, "by") or "nothing"
    if s.get(B, *m, "method") == "group_prior":
        how = (
            f"the class prior of each {by} group corrected after training (strength "
            f"{raw(s, B, *m, 'strength')}), counted on the training rows; applying it needs "
            "each image's group at prediction time"
        )
    else:
        how = (
            f"{s.v(B, *m, 'method')} by {by} and class (oversampling capped at "
            f"{raw(s, B, *m, 'oversample_cap')} times)"
        )
    return (
        f"<p>The bias audit groups the images by {groups}. A group, or for a class's recall a "
        f"group's images of that class, with fewer than {s.v(B, 'min_group')} images is shown "
        f"but not judged. Mitigation: {how}.</p>"
    )


def _planted(s: Sources) -> str:
    out = ""
    pb = ("split", "plant_bias")
    if s.get("prepare.yaml", *pb, "where"):
        out += (
            "<p>Planted on purpose (<code>params/prepare.yaml</code>): of the training-pool images "
            f"with {pairs(s, 'prepare.yaml', *pb, 'where')}, only "
            f"{s.v('prepare.yaml', *pb, 'keep', fmt='pct')} are trained on.</p>"
        )
    h, by = ("planted",), "bias.yaml"
    if s.has(by, *h, "attribute"):
        of = f" of {raw(s, by, *h, 'class')}" if s.has(by, *h, "class") else ""
        out += (
            "<p>Declared before the audit (<code>params/bias.yaml</code>): "
            f"{raw(s, by, *h, 'metric')}{of} is {raw(s, by, *h, 'direction')} for "
            f"{raw(s, by, *h, 'attribute')} = {raw(s, by, *h, 'group')} than for everyone "
            "else.</p>"
        )
    return out


# ---- metrics ------------------------------------------------------------------------------


def metrics(s: Sources) -> str:
    out = (
        "<p><b>Headline:</b> macro-F1, the mean of the per-class F1 scores, so every class counts "
        "the same however many images it has; with accuracy, and per class precision, recall and "
        "F1. The predicted class is the one of highest probability (no tuned threshold).</p>"
    )
    if s.has(P, "task") and s.get(P, "task") == "binary":
        out += inline(
            s,
            lambda s: (
                f"<p><b>Binary task ({raw(s, P, 'task')}):</b> sensitivity and specificity "
                f"with {raw(s, P, 'evaluate', 'positive')} as the positive class.</p>"
            ),
            "",
        )
    rows = [
        (
            "test images",
            lambda s: (
                f"{raw(s, P, 'evaluate', 'bootstrap')} bootstrap resamples of the test "
                f"images, {s.v(P, 'evaluate', 'confidence', fmt='pct')} percentile intervals"
            ),
        ),
        (
            "k-fold",
            lambda s: (
                f"the mean over the {s.v('kfold.json', 'k')} folds with a "
                f"{s.v('kfold.yaml', 'confidence', fmt='pct')} t-interval, and macro-F1 pooled "
                "over every out-of-fold prediction"
            ),
        ),
        ("groups", _group_metrics),
        (
            "external sets",
            lambda s: (
                "the same metrics on each external set, and the gap: in-distribution "
                "minus external, with its interval"
            ),
        ),
    ]
    return out + facts([(k, inline(s, fn)) for k, fn in rows])


def _group_metrics(s: Sources) -> str:
    if not audited(s, B):
        return f"not measured, nothing to audit: {unaudited(s, B)}"
    out = (
        f"per group accuracy, macro-F1 and each class's recall, {s.v(B, 'bootstrap')} bootstrap "
        f"resamples within each group, {s.v(B, 'confidence', fmt='pct')} intervals; the gap "
        f"between the best and worst group with a permutation test ({s.v(B, 'permutations')} "
        "shuffles within each class)"
    )
    if s.has(B, "family"):
        f = ("family",)
        out += (
            f", its p-value {s.v(B, *f, 'method')}-adjusted over the {s.v(B, *f, 'size')} gaps "
            f"of the family (one real gap must pass p &lt; {s.v(B, *f, 'level', digits=4)})"
        )
    if s.has(B, "mde", "power"):
        out += (
            f"; the minimum detectable gap: the smallest gap the test finds with "
            f"{s.v(B, 'mde', 'power', fmt='pct')} power at these group sizes"
        )
    return out
