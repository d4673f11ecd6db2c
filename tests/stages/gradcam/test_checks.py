"""The Grad-CAM stage's layer choice, baselines, ROAD, randomisation check and verdicts."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from maskutils.modeling.backbones import build_transfer
from maskutils.modeling.models import build_cnn
from maskutils.stages.gradcam import baselines as B
from maskutils.stages.gradcam import cams as C
from maskutils.stages.gradcam import measures, road, sanity, verdicts
from maskutils.stages.gradcam.params import SCHEMA

ROOT = Path(__file__).resolve().parents[3]


def _images(n=4, size=64, seed=0):
    return np.random.default_rng(seed).integers(0, 255, (n, 3, size, size), dtype=np.uint8)


def test_the_studied_backbone_is_explained_on_a_fine_grid():
    """The cause of the failing maps: MobileNetV2 fed at 96 px ends in a 3 x 3 map, so a map
    upsampled from its last block can peak near 9 points only. The stage's default layer rule
    must give a map of at least 6 x 6 cells."""
    torch.manual_seed(0)
    model = build_transfer("mobilenet_v2", 5, input_size=96).eval()
    last = C.compute_cams(model, _images(), batch_size=4)  # the backbone's declared last block
    assert last.layer == "net.features.18" and last.grid == 3
    g = SCHEMA.defaults()
    cams = C.compute_cams(
        model, _images(), g["method"], g["target_layer"], batch_size=4, min_grid=g["min_grid"]
    )
    assert cams.grid >= 6 and cams.maps.shape == (4, 64, 64)


def test_min_grid_picks_the_deepest_layer_that_is_fine_enough():
    model = build_cnn("tiny3", 3, 32)  # blocks end at 16, 8 and 4 px
    sides = C.layer_sides(model, 32)
    for min_grid in (1, 4, 5, 8, 9, 16, 64):
        name = C.find_target_layer(model, 32, min_grid)
        fine = [n for n, s in sides.items() if s >= min_grid]
        assert name == (fine[-1] if fine else list(sides)[-1]) or sides[name] == max(sides.values())
        assert sides[name] >= min(min_grid, max(sides.values()))


def test_peak_cells_of_a_coarse_map():
    maps = np.zeros((3, 6, 6), np.float32)
    maps[0, 0, 0] = maps[1, 5, 5] = maps[2, 2, 3] = 1
    assert measures.peak_cells(maps, 3).tolist() == [0, 8, 4]
    assert measures.peak_cells(maps, 6).tolist() == [0, 35, 15]


def test_baselines_shapes_and_where_they_peak():
    centre = B.centre_map(64)
    assert centre.shape == (64, 64) and centre.max() == 1 and centre[31:33, 31:33].min() == 1
    masks = np.zeros((4, 64, 64), bool)
    masks[:, 40:50, 20:44] = True
    prior = B.prior_map(masks)
    assert prior[45, 30] == 1 and prior[10, 10] == 0
    grid = B.grid_random_maps(50, 64, 3, seed=0)
    assert grid.shape == (50, 64, 64) and grid.min() == 0 and grid.max() == 1
    assert np.array_equal(grid, B.grid_random_maps(50, 64, 3, seed=0))
    with pytest.raises(ValueError, match="at least one training image"):
        B.prior_map(masks[:0])


def test_impute_fills_harmonically_like_the_reference_solver():
    """A linear ramp is harmonic: imputation reproduces it; on real pixels the fill agrees with
    pytorch-grad-cam's exact sparse solver (ROAD's reference code) within a few grey levels."""
    from pytorch_grad_cam.metrics.road import NoisyLinearImputer

    ramp = np.broadcast_to(np.linspace(20, 220, 32)[None, None, None, :], (1, 3, 32, 32))
    removed = np.zeros((1, 32, 32), bool)
    removed[0, 8:24, 6:26] = True
    old = road.NOISE
    try:
        road.NOISE = 0.0
        filled = road.impute(ramp.astype(np.uint8), removed).astype(float)
        assert np.abs(filled - ramp.round()).max() <= 2
        images = _images(2, 32, seed=3)
        holes = measures.top_mask(B.random_maps(2, 32, seed=4), 0.4, 0)
        mine = road.impute(images, holes).astype(float)
    finally:
        road.NOISE = old
    exact = np.stack(
        [
            NoisyLinearImputer(noise=0.0)(
                torch.tensor(images[i] / 255.0, dtype=torch.float),
                torch.tensor((~holes[i]).astype(float)),
            ).numpy()
            * 255
            for i in range(2)
        ]
    )
    inside = np.broadcast_to(holes[:, None], images.shape)
    assert np.abs(mine - exact)[inside].mean() < 4
    assert np.array_equal(mine[~inside], images[~inside].astype(float))  # known pixels kept


class RegionModel(nn.Module):
    """Class 1's logit is the mean brightness of the image's top-left quarter; class 0's is a
    constant: only that quarter matters."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(8.0))

    def forward(self, x):
        h, w = x.shape[-2:]
        z = x[:, :, : h // 2, : w // 2].mean((1, 2, 3)) * self.scale
        return torch.stack([torch.zeros_like(z), z], 1)


def test_road_rewards_the_map_of_what_the_model_reads():
    images = np.full((6, 3, 32, 32), 40, np.uint8)
    images[:, :, :16, :16] = 230  # the read quarter is bright: p(class 1) high
    informative = np.zeros((6, 32, 32), np.float32)
    informative[:, :16, :16] = 1
    informative += np.random.default_rng(0).random((6, 32, 32)).astype(np.float32) * 0.01
    cls = np.ones(6, int)
    good = road.road_scores(RegionModel(), images, informative, cls)
    inverse = road.road_scores(RegionModel(), images, 1 - informative, cls)
    assert (good > 0.05).all() and (inverse < -0.05).all()


def test_randomised_resets_only_the_top_layers():
    torch.manual_seed(0)
    model = build_cnn("tiny3", 3, 32)
    with torch.no_grad():  # as if trained: no parameter at its initial value
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    names = sanity.weighted_layers(model)
    out, k = sanity.randomised(model, 0.5, seed=1)
    assert k == round(len(names) / 2)
    for j, name in enumerate(names):
        same = all(
            torch.equal(a, b)
            for a, b in zip(
                model.get_submodule(name).parameters(False),
                out.get_submodule(name).parameters(False),
            )
        )
        assert same == (j < len(names) - k), name


def test_rank_correlation_and_ssim_known_answers():
    rng = np.random.default_rng(0)
    a = rng.random((20, 16, 16))
    assert np.allclose(sanity.rank_correlation(a, a), 1)
    assert np.allclose(sanity.rank_correlation(a, -a), -1)
    assert abs(np.mean(sanity.rank_correlation(a, rng.random((20, 16, 16))))) < 0.05
    assert np.isnan(sanity.rank_correlation(a[:1], np.zeros((1, 16, 16))))[0]
    assert np.allclose(sanity.ssim(a, a), 1) and (sanity.ssim(a, 1 - a) < 0.2).all()


def test_cascade_of_a_model_whose_maps_survive_randomisation_fails():
    """A CAM of a model whose target layer's input is a fixed, parameter-free function of the
    image keeps its shape when the weights change: the check must fail it."""
    torch.manual_seed(0)
    model = build_cnn("tiny3", 3, 32).eval()
    images = _images(6, 32)
    cams = C.compute_cams(model, images, "eigencam", "features.0", batch_size=6)
    out = sanity.cascade(
        model,
        images,
        cams.maps,
        cams.targets,
        "eigencam",
        "features.0",
        100,
        0.95,
        0,
        fractions=(0.5,),
    )
    # features.0 is the first convolution: re-initialising the top half leaves it untouched
    assert out["steps"][0]["rank_correlation"]["value"] > 0.99 and not out["passes"]
    with pytest.raises(ValueError, match="0.5"):
        sanity.cascade(
            model,
            images,
            cams.maps,
            cams.targets,
            "eigencam",
            "features.0",
            10,
            0.95,
            0,
            fractions=(0.25,),
        )


def _ci(v, lo, hi):
    return {"value": v, "ci_low": lo, "ci_high": hi, "n": 100}


def _metrics(pointing=(0.9, 0.85, 0.95), centre=(0.6, 0.5, 0.7), road_lift=(0.3, 0.2, 0.4)):
    o = {
        "pointing_hit": _ci(*pointing),
        "roi_energy": _ci(0.5, 0.45, 0.55),
        "roi_area_share": _ci(0.12, 0.11, 0.13),
        "pointing_hit_centre": _ci(*centre),
        "roi_energy_centre": _ci(0.24, 0.22, 0.26),
        "pointing_hit_prior": _ci(1.0, 1.0, 1.0),
        "roi_energy_prior": _ci(0.7, 0.68, 0.72),
    }
    return {
        "method": "hirescam",
        "target_layer": "x",
        "grid": 6,
        "localisation": {"available": True, "overall": o},
        "faithfulness": {"overall": {"drop_vs_random": _ci(0.5, 0.4, 0.6)}},
        "sanity": {
            "road": {"road_vs_random": _ci(*road_lift)},
            "randomisation": {
                "passes": True,
                "pass_below": 0.5,
                "steps": [{"fraction": 0.5, "rank_correlation": _ci(0.2, 0.1, 0.3)}],
            },
        },
    }


def test_verdicts_read_the_intervals():
    assert verdicts.compare(_ci(0.5, 0.4, 0.6), _ci(0.3, 0.2, 0.39)) == "above"
    assert verdicts.compare(_ci(0.5, 0.4, 0.6), _ci(0.3, 0.2, 0.4)) == "overlaps"
    assert verdicts.compare(_ci(0.1, 0.0, 0.1), _ci(0.3, 0.2, 0.4)) == "below"
    assert verdicts.compare(_ci(0.1, 0.0, 0.1), None) is None
    good = _metrics()
    assert verdicts.failures(good) == [] and verdicts.passes(good)  # trailing the prior is no fail
    assert "below the data's prior" in verdicts.localisation_text(good)
    assert "pass every test" in verdicts.summary_text(good)
    tied = _metrics(pointing=(0.65, 0.55, 0.75))
    assert verdicts.failures(tied) == ["pointing not above a map peaked at the image centre"]
    flat = _metrics(road_lift=(0.01, -0.02, 0.04))
    assert verdicts.failures(flat) == ["ROAD not above random maps'"]
    assert "not distinguishably more than random maps" in verdicts.faithfulness_text(flat)


def test_the_stage_defaults_are_the_benchmarks_choice():
    record = json.loads((ROOT / "benchmarks/results/gradcam_grid.json").read_text())
    g = SCHEMA.defaults()
    assert record["choice"] is not None, "no method passed: the stage must say so, not pick one"
    assert (g["method"], g["min_grid"]) == (
        record["choice"]["method"],
        record["choice"]["min_grid"],
    )


def test_no_second_model_when_disabled_missing_or_the_same(tmp_path):
    from maskutils.stages.gradcam.run import compared_model

    assert compared_model(tmp_path / "cnn.pt", {"name": "mobilenet_v2"}) is None
    assert compared_model(ROOT / "models" / "cnn.pt", {"name": "x"}, enabled=False) is None
