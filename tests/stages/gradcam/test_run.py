import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from maskutils.core import stats
from maskutils.core.results import plain
from maskutils.modeling.augment import to_float
from maskutils.modeling.backbones import BACKBONES, build_transfer
from maskutils.modeling.models import PRESETS, build_cnn
from maskutils.stages.gradcam import baselines, measures
from maskutils.stages.gradcam import cams as C
from maskutils.stages.gradcam import probe as S
from maskutils.stages.gradcam import run as E
from tests.conftest import params, prepared_synthetic

#: The last convolutional block of every model the project trains (32 px CNNs, 64 px backbones).
EXPECTED_CNN = {
    "small": "features.14",
    "tiny3": "features.10",
    "study5_leaky": "features.18",
    "study5_relu": "features",
}


def _hooks(model: nn.Module) -> int:
    return sum(
        len(m._forward_hooks)
        + len(m._forward_pre_hooks)
        + len(m._backward_hooks)
        + len(getattr(m, "_backward_pre_hooks", {}))
        for m in model.modules()
    )


def _images(n=4, size=32, seed=0):
    return np.random.default_rng(seed).integers(0, 255, (n, 3, size, size), dtype=np.uint8)


def test_presets_are_all_covered():
    assert set(EXPECTED_CNN) == set(PRESETS)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_target_layer_of_every_preset(preset):
    model = build_cnn(preset, 5, 32)
    name = C.find_target_layer(model, 32)
    assert name == EXPECTED_CNN[preset]
    layer = model.get_submodule(name)
    assert isinstance(
        layer, (nn.ReLU, nn.LeakyReLU, nn.Sequential)
    )  # the block's output, before pooling


SLOW_BACKBONES = {
    "densenet121",
    "inception_v3",
    "xception",
    "resnet50",
}  # seconds each to build on a CPU


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(b, marks=pytest.mark.slow) if b in SLOW_BACKBONES else b
        for b in sorted(BACKBONES)
    ],
)
def test_target_layer_of_every_backbone(name):
    """Each backbone's declared layer is a valid hook point with the same output as the last
    convolutional block the automatic search finds (so the table cannot point elsewhere)."""
    torch.manual_seed(0)
    model = build_transfer(name, 3, input_size=64).eval()
    declared = C.resolve_layer(model, None, 64)[0]
    assert declared == model.target_layer and declared in C.layer_candidates(model, 64)
    seen = {}
    auto = C.find_target_layer(model, 64)
    for key in (declared, auto):
        model.get_submodule(key).register_forward_hook(
            lambda _m, _i, out, key=key: seen.setdefault(key, out.detach().clone())
        )
    model(to_float(torch.as_tensor(_images(1, 64))))
    assert torch.equal(seen[declared], seen[auto])
    if name == "mobilenet_v2":  # a CAM through a real backbone, hooks removed afterwards
        model = build_transfer(name, 3, input_size=64)
        cams = C.compute_cams(model, _images(2, 64), batch_size=2)
        assert cams.layer == "net.features.18" and cams.maps.shape == (2, 64, 64)
        assert cams.maps.max() > 0 and _hooks(model) == 0


def test_unknown_layer_names_valid_ones():
    model = build_cnn("tiny3", 3, 32)
    with pytest.raises(ValueError, match=r"'nope'.*features\.10"):
        C.compute_cams(model, _images(), target_layer="nope")
    cams = C.compute_cams(model, _images(), target_layer="features.6")  # an earlier block, 16 x 16
    assert cams.layer == "features.6" and cams.maps.shape == (4, 32, 32)


@pytest.mark.parametrize("method", C.METHODS)
def test_maps_in_unit_range_at_input_size(method):
    torch.manual_seed(0)
    model = build_cnn("tiny3", 3, 32)
    x = _images(5, 32)
    cams = C.compute_cams(model, x, method=method, batch_size=2)  # 3 batches
    assert cams.maps.shape == (5, 32, 32) and cams.maps.dtype == np.float32
    peaks = cams.maps.reshape(5, -1).max(
        1
    )  # min-max scaled: 1 at the peak, or all 0 (no positive evidence)
    assert (
        cams.maps.min() >= 0
        and cams.maps.max() <= 1
        and np.all((peaks > 0.99) | (peaks == 0))
        and peaks.max() > 0.99
    )
    with torch.no_grad():
        logits = model.eval()(to_float(torch.as_tensor(x))).numpy()
    assert np.allclose(cams.logits, logits, atol=1e-5) and np.array_equal(
        cams.targets, logits.argmax(1)
    )
    assert _hooks(model) == 0


def test_hooks_released_after_use_and_after_an_error():
    model = build_cnn("small", 3, 32)
    model.train()
    C.compute_cams(model, _images(), targets=[0, 1, 2, 0])
    assert _hooks(model) == 0 and model.training  # mode restored
    with pytest.raises(IndexError):
        C.compute_cams(model, _images(), targets=[7, 7, 7, 7])  # no such class
    assert _hooks(model) == 0


def test_cam_explains_the_requested_class():
    model = build_cnn("tiny3", 3, 32)
    x = _images()
    a = C.compute_cams(model, x, targets=[0, 0, 0, 0])
    b = C.compute_cams(model, x, targets=[1, 1, 1, 1])
    assert list(a.targets) == [0] * 4 and not np.allclose(a.maps, b.maps)


# ---- localisation on crafted maps -------------------------------------------------------------


def test_localisation_known_answers():
    boxes = np.array([[4, 4, 12, 12]] * 3, float)
    masks = measures.roi_masks(boxes, 16)
    assert masks[0].sum() == 64 and masks[0, 4, 4] and not masks[0, 12, 12] and not masks[0, 3, 8]
    maps = np.zeros((3, 16, 16), np.float32)
    maps[0, 5:10, 6:11] = 1.0  # wholly inside
    maps[1, 13:, :3] = 0.7  # wholly outside
    maps[2] = 1.0  # uniform: share = area share, ties -> centroid (8, 8) inside
    share = measures.energy_share(maps, masks)
    assert share[0] == 1.0 and share[1] == 0.0 and share[2] == pytest.approx(64 / 256)
    assert measures.pointing_hits(maps, masks).tolist() == [1.0, 0.0, 1.0]
    empty = np.zeros((1, 16, 16), np.float32)
    assert np.isnan(measures.energy_share(empty, masks[:1])[0]) and np.isnan(
        measures.pointing_hits(empty, masks[:1])[0]
    )


def test_roi_boxes_scaled_to_the_cache_and_absent_on_real_data():
    df = pd.DataFrame(
        {
            "width": [64, 128],
            "height": [64, 64],
            "roi_x0": [8, 8],
            "roi_y0": [16, 16],
            "roi_x1": [32, 64],
            "roi_y1": [48, 48],
        }
    )
    assert measures.roi_boxes(df, 32).tolist() == [[4, 8, 16, 24], [2, 8, 16, 24]]
    assert measures.roi_boxes(df.drop(columns=["roi_x0"]), 32) is None
    assert measures.roi_boxes(df.assign(roi_x0=[8, None]), 32) is None


def test_random_maps_baseline_is_near_the_area_share():
    rand = baselines.random_maps(400, 32, seed=1)
    assert rand.min() == 0 and rand.max() == 1
    masks = measures.roi_masks(np.array([[8, 8, 24, 24]] * 400, float), 32)
    assert np.nanmean(measures.energy_share(rand, masks)) == pytest.approx(0.25, abs=0.03)
    assert np.array_equal(rand, baselines.random_maps(400, 32, seed=1))


# ---- faithfulness on a crafted model ----------------------------------------------------------


class QuadrantModel(nn.Module):
    """Logits (s, -s), s = the mean normalised red value of the top-left 16 x 16 quadrant."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        s = x[:, 0, :16, :16].mean((1, 2)) + 0 * self.dummy
        return torch.stack([s, -s], 1)


def test_faithfulness_arithmetic():
    x = np.full((1, 3, 32, 32), 40, np.uint8)
    x[:, :, :16, :16] = 200
    cam = np.zeros((1, 32, 32), np.float32)
    cam[0, :16, :16] = np.linspace(0.5, 1, 256).reshape(16, 16)
    mask = measures.top_mask(cam, 0.25)
    assert mask.sum() == 256 and mask[0, :16, :16].all()  # the top 25 %: exactly the quadrant
    assert (
        measures.remove(x, mask)[0, :, :16, :16] == 80
    ).all()  # the image mean: (200 + 3 x 40) / 4
    model = QuadrantModel()
    p = torch.softmax(model(to_float(torch.as_tensor(x))), 1).detach().numpy()
    drop = measures.probability_drop(model, x, mask, np.array([0]), p)
    s = lambda v: (v / 255 - 0.5) / 0.25  # noqa: E731
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    assert drop[0] == pytest.approx(sigmoid(2 * s(200)) - sigmoid(2 * s(80)), abs=1e-5)
    other = np.zeros((1, 32, 32), np.float32)
    other[0, 16:, 16:] = 1  # removing the bottom-right quadrant changes nothing
    assert measures.probability_drop(model, x, measures.top_mask(other, 0.25), np.array([0]), p)[
        0
    ] == pytest.approx(0, abs=1e-6)


def test_top_mask_breaks_ties_at_random_not_by_raster_order():
    flat = np.zeros((1, 20, 20), np.float32)
    m = measures.top_mask(flat, 0.2, seed=3)
    assert m.sum() == 80 and m[0, :4].sum() < 80  # not just the top rows


def test_bootstrap_mean_interval():
    r = stats.bootstrap_mean([1.0, 2.0, 3.0, np.nan], 500, 0.95, 0)
    assert r["value"] == 2.0 and r["n"] == 3 and 1.0 <= r["ci_low"] <= 2.0 <= r["ci_high"] <= 3.0
    assert stats.bootstrap_mean([np.nan], 100, 0.95, 0)["value"] is None


# ---- on prepared data -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return prepared_synthetic(tmp_path_factory, 120, 32, 2)


def test_explain_summary_is_plain_json_and_repeats(prepared):
    torch.manual_seed(0)
    model = build_cnn("tiny3", 5, 32)
    blobs = []
    for _ in range(2):
        ex = E.explain_prepared(model, prepared, batch_size=16, seed=0)
        san = E.sanity(ex, model, 8, 200, 0.95, 0)
        blobs.append(
            json.dumps(E.explanation_summary(ex, san, reps=200, per_class=2), sort_keys=True)
        )
    assert blobs[0] == blobs[1]
    s = json.loads(blobs[0])
    assert s["localisation"]["available"] and s["target_layer"] == "features.10"
    assert s["sanity"]["road"]["n"] == 8 and len(s["sanity"]["randomisation"]["steps"]) == 3
    grid = np.asarray(s["localisation"]["peak_grid"])  # tiny3's last block: 8 x 8 at 32 px
    assert grid.shape == (s["grid"], s["grid"]) == (8, 8) and grid.sum() == pytest.approx(1, 1e-3)
    for b in ("random", "grid_random", "centre", "prior"):
        assert f"pointing_hit_{b}" in s["localisation"]["overall"]
    assert set(s["localisation"]["per_class"]) == set(s["classes"]) and s["n_images"] == len(
        prepared.rows("test")
    )
    loc = s["localisation"]["overall"]
    assert (
        0
        <= loc["roi_energy"]["ci_low"]
        <= loc["roi_energy"]["value"]
        <= loc["roi_energy"]["ci_high"]
        <= 1
    )
    assert {"drop", "drop_random", "drop_vs_random"} <= set(s["faithfulness"]["overall"])
    # galleries: correct groups hold correct images, most confident first
    t, groups = ex.table, E.gallery(ex, 3)
    for cls in ex.classes:
        best = groups[f"{cls}: most confident correct"]
        assert all(t["true"].iloc[i] == t["pred"].iloc[i] == cls for i in best)
        assert list(t[f"p_{cls}"].iloc[best]) == sorted(t[f"p_{cls}"].iloc[best], reverse=True)
        assert all(
            t["true"].iloc[i] == cls != t["pred"].iloc[i] for i in groups[f"{cls}: misclassified"]
        )
    hi = groups["no_mask: highest no_mask logit"]
    assert t["logit_no_mask"].iloc[hi[0]] == t["logit_no_mask"].max()
    assert set(E.mean_maps(ex)) == set(ex.table["true"])


def test_real_data_without_roi_skips_localisation(prepared):
    model = build_cnn("tiny3", 5, 32)
    real = prepared.manifest.drop(columns=list(measures.ROI_COLUMNS))
    rows = prepared.rows("test")
    classes, y = prepared.task("mask_type")
    ex = E.explain(model, prepared.images[rows], y[rows], classes, real.iloc[rows], batch_size=16)
    s = json.loads(
        json.dumps(E.explanation_summary(ex, E.sanity(ex, model, 6, 100, 0.95, 0), reps=100))
    )
    assert s["localisation"] == {
        "available": False,
        "reason": "the data carry no ROI boxes (roi_x0..roi_y1)",
    }
    assert s["faithfulness"]["overall"]["drop"]["n"] == len(rows)
    # faithfulness and the sanity checks still run without ROIs (real photos)
    assert s["sanity"]["road"]["road_vs_random"]["n"] == 6
    assert s["sanity"]["randomisation"]["steps"][1]["rank_correlation"]["n"] <= 6


def test_redraw_original_is_the_stored_image(prepared):
    rows = S.probe_rows(prepared, "cloth", 5, splits=("train", "val", "test"))
    orig, boxes = S.redraw(prepared, rows, "original")
    assert np.array_equal(orig, prepared.images[rows])
    assert np.allclose(boxes, measures.roi_boxes(prepared.manifest.iloc[rows], 32))
    cue, cue_boxes = S.redraw(prepared, rows, "cue")
    assert np.array_equal(cue_boxes, boxes) and not np.array_equal(cue, orig)
    corner = cue[:, :, :3, :3].reshape(len(rows), 3, -1).mean(2)  # the background: green dominates
    assert (corner[:, 1] > corner[:, 0] + 40).all() and (corner[:, 1] > corner[:, 2] + 40).all()


def test_redraw_draws_through_the_camera_of_the_prepared_set(tmp_path):
    from maskutils.prepare.prepared import load_prepared
    from maskutils.prepare.run import run

    synthetic = {"n_images": 40, "render_size": 32, "camera": "shifted"}
    given = params("prepare", {"image_size": 32, "workers": 1, "synthetic": synthetic})
    run(given, tmp_path, progress=False, splits=False)
    shifted = load_prepared(tmp_path)
    rows = S.probe_rows(shifted, "cloth", 5)
    orig, _ = S.redraw(shifted, rows, "original")
    error = np.abs(orig.astype(float) - shifted.images[rows]).mean(axis=(1, 2, 3))
    assert len(rows) == 5 and (error < 10).all()  # the same faces, but for JPEG's loss


def test_redraw_draws_the_pale_cloth_masks_the_set_was_drawn_with(tmp_path):
    from maskutils.prepare.prepared import load_prepared
    from maskutils.prepare.run import run

    synthetic = {"n_images": 60, "render_size": 32, "pale_cloth": {"gender": "female"}}
    given = params("prepare", {"image_size": 32, "workers": 1, "synthetic": synthetic})
    run(given, tmp_path, progress=False, splits=False)
    pale = load_prepared(tmp_path)
    rows = S.probe_rows(pale, "cloth", 12)
    assert (pale.manifest["gender"].iloc[rows] == "female").any()
    orig, _ = S.redraw(pale, rows, "original")
    assert np.array_equal(orig, pale.images[rows])


class GreenDetector(nn.Module):
    """A model that looks only at green: a 1x1 conv 'greenness' map, ReLU, global mean, and the
    cloth logit proportional to it (what a pure cue shortcut would learn)."""

    def __init__(self, n_classes: int, cloth: int):
        super().__init__()
        self.green = nn.Conv2d(3, 1, 1)
        with torch.no_grad():
            self.green.weight[:] = torch.tensor([-0.5, 1.0, -0.5]).view(1, 3, 1, 1)
            self.green.bias.fill_(-0.3)
        self.act = nn.ReLU()
        self.head = nn.Linear(1, n_classes)
        with torch.no_grad():
            self.head.weight.zero_()
            self.head.bias.zero_()
            self.head.weight[cloth] = 4.0

    def forward(self, x):
        return self.head(self.act(self.green(x)).mean((2, 3)))


def test_shortcut_probe_sees_a_model_that_looks_at_the_background(prepared):
    classes, _ = prepared.task("mask_type")
    model = GreenDetector(len(classes), classes.index("cloth"))
    out = S.probe(model, prepared, label="cloth", n=8, splits=("train", "val", "test"), reps=200)
    assert out["available"] and out["n"] == 8 and out["target_layer"] == "act"
    # on the cue background the evidence is the background: ROI energy below the ROI's area share
    assert out["cue"]["roi_energy"]["value"] < out["cue"]["roi_area_share"]["value"]
    assert out["cue_minus_control"]["p_label"]["ci_low"] > 0.3
    assert out["cue"]["predicted_label"]["value"] == 1.0
    assert json.loads(json.dumps(plain(out)))["n"] == 8


def test_shortcut_probe_needs_synthetic_data(prepared):
    import dataclasses

    real = dataclasses.replace(
        prepared, info={**prepared.info, "params": {"source": {"kind": "folder"}}}
    )
    with pytest.raises(ValueError, match="not synthetic"):
        S.probe(build_cnn("tiny3", 5, 32), real)


def test_figures_draw(prepared):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from maskutils.stages.gradcam import report as P

    ex = E.explain_prepared(build_cnn("tiny3", 5, 32), prepared, batch_size=32)
    figs = P.gallery_figures(ex, 2)
    assert figs and all(len(f.axes) % 3 == 0 for f in figs.values())
    assert len(P.mean_maps_figure(ex).axes) == len(set(ex.table["true"]))
    classes, _ = prepared.task("mask_type")
    _, arrays = S.probe(
        GreenDetector(len(classes), classes.index("cloth")),
        prepared,
        n=2,
        splits=("train", "val", "test"),
        reps=100,
        return_arrays=True,
    )
    assert len(P.probe_figure(arrays, 2).axes) == 6
    plt.close("all")
