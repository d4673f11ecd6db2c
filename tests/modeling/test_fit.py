import json

import numpy as np
import pytest
import torch

from maskutils.core import fmt
from maskutils.core.results import write_metrics
from maskutils.modeling import checkpoint, recipes
from maskutils.modeling.augment import augment, shrink, to_float
from maskutils.modeling.backbones import build_transfer
from maskutils.modeling.fit import class_weights, fit
from maskutils.modeling.models import build_cnn
from maskutils.modeling.predict import classify
from maskutils.modeling.transfer import RATE_STEPS, TransferTrainer, finetune_groups
from maskutils.stages.contract import Inputs
from maskutils.stages.train import run as experiment
from maskutils.stages.train.report import finetune_text
from tests.conftest import face_photo, params, prepared_synthetic, save

NO_AUG = {
    "flip": False,
    "rotation": 0.0,
    "brightness": 0.0,
    "crop": 1.0,
    "noise": 0.0,
    "downscale": 0.0,
    "downscale_min": 16,
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return prepared_synthetic(tmp_path_factory, 200, 32, 2)


def _cfg(**kw):
    """Train params for trainers built here, without prepared data: the synthetic recipe's."""
    return recipes.fill(
        params(
            "train",
            {
                "epochs": 2,
                "batch_size": 32,
                "baseline": {"components": 10},
                "evaluate": {"bootstrap": 200},
                "model": "cnn",
                "transfer": {"backbone": "none"},
                **kw,
            },
        ),
        "synthetic",
    )


def test_one_batch_overfits():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (16, 3, 32, 32), dtype=np.uint8)
    y = np.arange(16) % 4
    cfg = _cfg(epochs=80, patience=80, lr=0.003, augment=NO_AUG, class_weights="none")
    res = fit(build_cnn("small", 4, 32), x, y, x, y, cfg, 4, progress=False)
    assert (
        res.history["train_accuracy"].iloc[-1] == 1.0 and res.history["val_macro_f1"].max() == 1.0
    )


def test_early_stopping_restores_the_best_epoch():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (32, 3, 32, 32), dtype=np.uint8)
    y = rng.integers(0, 3, 32)  # noise: validation F1 stalls
    res = fit(
        build_cnn("tiny3", 3, 32),
        x,
        y,
        x[:8],
        y[:8],
        _cfg(epochs=30, patience=2),
        3,
        progress=False,
    )
    h = res.history
    assert len(h) < 30 and res.best_epoch == int(h.loc[h["val_macro_f1"].idxmax(), "epoch"])


def test_class_weights():
    w = class_weights(np.array([0] * 30 + [1] * 10), 2, "auto")
    assert torch.allclose(w, torch.tensor([0.5, 1.5])) and w[1] / w[0] == pytest.approx(3.0)
    assert class_weights(np.array([0, 1]), 2, "none") is None
    assert class_weights(np.array([0, 1]), 2, [1.0, 2.0]).tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="2 classes"):
        class_weights(np.array([0, 1]), 2, [1.0])


def test_augment_is_seeded_and_identity_without_changes():
    x = torch.as_tensor(np.stack([face_photo(i, 32).transpose(2, 0, 1) for i in range(4)]))
    cfg = _cfg()["augment"]
    a = augment(x, cfg, torch.Generator().manual_seed(1))
    b = augment(x, cfg, torch.Generator().manual_seed(1))
    assert a.shape == (4, 3, 32, 32) and a.dtype == torch.float32 and torch.equal(a, b)
    assert not torch.allclose(a, augment(x, cfg, torch.Generator().manual_seed(2)))
    assert torch.allclose(augment(x, NO_AUG, torch.Generator()), to_float(x), atol=1e-4)


def test_small_faces_lose_their_detail_and_keep_their_size():
    board = (np.indices((32, 32)).sum(0) % 2 * 255).astype(np.uint8)  # one-pixel checkerboard
    x = to_float(torch.as_tensor(np.stack([np.stack([board] * 3)] * 8)))
    out = shrink(x, 1.0, 4, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and torch.equal(
        out, shrink(x, 1.0, 4, torch.Generator().manual_seed(0))
    )
    detail = lambda t: (t[..., 1:] - t[..., :-1]).abs().mean()  # noqa: E731
    assert detail(out) < 0.2 * detail(x)
    assert torch.equal(shrink(x, 0.0, 4, torch.Generator()), x)  # share 0: untouched
    half = shrink(x, 0.5, 4, torch.Generator().manual_seed(3))
    kept = [torch.equal(a, b) for a, b in zip(half, x)]
    assert any(kept) and not all(kept)  # a share of the batch, not all of it
    cfg = {**NO_AUG, "downscale": 1.0, "downscale_min": 4}
    with_small = augment(
        torch.as_tensor(np.stack([np.stack([board] * 3)] * 8)), cfg, torch.Generator()
    )
    assert detail(with_small) < 0.2 * detail(x)


def _transfer_cfg(**tr):
    return _cfg(
        transfer={
            "backbone": "mobilenet_v3_small",
            "weights": None,
            "input_size": 32,
            "head_epochs": 3,
            **tr,
        }
    )


def test_head_phase_trains_only_the_head_on_cached_features():
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 255, (16, 3, 32, 32), dtype=np.uint8), np.arange(16) % 2
    net = build_transfer("mobilenet_v3_small", 2, input_size=32)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    t = TransferTrainer(net, x, y, x, y, _transfer_cfg(epochs=0), 2)
    assert t.done  # epochs 0: the backbone stays frozen
    res = t.result()
    changed = {k for k, v in net.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and changed <= {"net.classifier.3.weight", "net.classifier.3.bias"}
    assert list(res.history["phase"]) == ["head"] * 3


def test_finetune_phase_moves_the_backbone_but_not_its_batchnorm_statistics():
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 255, (16, 3, 32, 32), dtype=np.uint8), np.arange(16) % 2
    net = build_transfer("mobilenet_v3_small", 2, input_size=32)
    bn = next(m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))
    conv = net.net.features[0][0].weight
    stats, weight = bn.running_mean.clone(), conv.detach().clone()
    t = TransferTrainer(net, x, y, x, y, _transfer_cfg(epochs=2, lr=0.01), 2)
    t.epoch()
    assert t.inner.opt.param_groups[0]["initial_lr"] == pytest.approx(0.01 / 25)  # one-cycle
    assert torch.equal(bn.running_mean, stats) and not torch.equal(conv.detach(), weight)
    while not t.done:
        t.epoch()
    res = t.result()
    assert list(res.history["phase"]) == ["head"] * 3 + ["finetune"] * 2
    assert list(res.history["epoch"]) == [1, 2, 3, 4, 5] and 0 < res.best_epoch <= 5


def test_partial_unfreezing_keeps_the_first_layers_and_rates_rise_towards_the_head():
    assert (
        finetune_groups(build_transfer("mobilenet_v3_small", 2, input_size=32), 0.01, 1, 1) is None
    )
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 255, (16, 3, 32, 32), dtype=np.uint8), np.arange(16) % 2
    net = build_transfer("mobilenet_v3_small", 2, input_size=32)
    first, last = net.net.features[0][0].weight, net.net.features[-1][0].weight
    before = first.detach().clone(), last.detach().clone()
    cfg = _transfer_cfg(epochs=1, lr=0.01, unfreeze=0.5, layer_decay=0.1)
    t = TransferTrainer(net, x, y, x, y, cfg, 2)
    groups = t.inner.opt.param_groups
    peaks = [g["max_lr"] for g in groups]  # one-cycle's peak per group
    assert peaks == sorted(peaks) and peaks[-1] == pytest.approx(0.01)  # the head at lr
    assert 0.001 < peaks[0] < 0.01 and len(set(peaks[:-1])) == len(peaks) - 1
    whole = finetune_groups(build_transfer("mobilenet_v3_small", 2, input_size=32), 0.01, 1, 0.1)
    assert len(whole) == RATE_STEPS + 2  # every step of the slope, and the head
    assert whole[0]["lr"] == pytest.approx(0.001) and whole[-2]["lr"] == pytest.approx(0.01)
    assert groups[-1]["params"] == list(net.head.parameters())
    t.epoch()
    assert torch.equal(first.detach(), before[0]) and not first.requires_grad  # frozen half
    assert not torch.equal(last.detach(), before[1])  # the half next to the head trained
    res = t.result()
    assert all(p.requires_grad for p in res.model.parameters())  # explainable again


def test_the_probe_is_the_head_on_the_backbone_as_it_was_before_fine_tuning():
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 255, (16, 3, 32, 32), dtype=np.uint8), np.arange(16) % 2
    net = build_transfer("mobilenet_v3_small", 2, input_size=32)
    conv = net.net.features[0][0].weight.detach().clone()
    t = TransferTrainer(net, x, y, x, y, _transfer_cfg(epochs=2, lr=0.01), 2)
    head = {k: v.clone() for k, v in net.head.state_dict().items()}
    while not t.done:
        t.epoch()
    assert not torch.equal(net.net.features[0][0].weight, conv)  # fine-tuning moved it
    probe = t.probe()
    h = probe.history
    assert probe.model is not net and list(h["phase"]) == ["head"] * 3
    assert probe.best_epoch == h["epoch"][h["val_macro_f1"] == h["val_macro_f1"].max()].iloc[0]
    assert torch.equal(probe.model.net.features[0][0].weight, conv)  # the backbone as it was
    assert all(torch.equal(v, head[k]) for k, v in probe.model.head.state_dict().items())
    frozen = TransferTrainer(net, x, y, x, y, _transfer_cfg(epochs=0), 2)
    assert frozen.probe() is None  # no fine-tuning: the result is the probe


def test_cpu_runs_repeat_exactly(prepared, tmp_path):
    cfg = _cfg(
        model="best",
        transfer={"backbone": "mobilenet_v2", "input_size": 32, "head_epochs": 3, "epochs": 1},
        compare={"random_init": True},
    )
    blobs = []
    for k in range(2):
        paths = {"models": tmp_path / f"m{k}", "data/train": tmp_path / f"o{k}"}
        run = experiment.run(Inputs(paths, {}, prepared), cfg)
        blobs.append(
            write_metrics(tmp_path / f"{k}.json", experiment.summary(run, cfg)).read_bytes()
        )
    assert blobs[0] == blobs[1]
    # the fine-tuned model is reported beside its linear probe, paired on the same images
    summary = experiment.summary(run, cfg)
    assert "frozen: linear probe" in summary["models"]["probe"]["name"]
    gain = summary["finetune_vs_probe"]["macro_f1_difference"]
    tuned, probe = (summary["models"][k]["macro_f1"]["value"] for k in ("transfer", "probe"))
    assert gain["value"] == pytest.approx(tuned - probe, abs=1e-6)
    assert "linear probe" in finetune_text(run) and fmt.ci(gain) in finetune_text(run)
    # and beside the same network trained from random weights (compare.random_init)
    pre = summary["vs_random_init"]["macro_f1_difference"]
    scratch = summary["models"]["scratch"]["macro_f1"]["value"]
    assert pre["value"] == pytest.approx(tuned - scratch, abs=1e-6)
    assert "random init" in finetune_text(run) and fmt.ci(pre) in finetune_text(run)
    summary = json.loads(blobs[0])
    assert (
        set(summary["models"]) == {"cnn", "transfer", "probe", "scratch", "baseline"}
        and "seconds" not in blobs[0].decode()
    )
    val = summary["study_chosen_by"]["validation_macro_f1"]
    best = max(val, key=lambda k: (val[k], k == "transfer"))
    assert (
        summary["study_model"]
        == best
        == json.loads((tmp_path / "m0/study.json").read_text())["model"]
    )
    assert checkpoint.load(tmp_path / "m0/study.pt")[1]["params"]["model"] == best


def test_checkpoint_round_trip_and_predict(prepared, tmp_path):
    paths = {"models": tmp_path / "models", "data/train": tmp_path / "o"}
    run = experiment.run(Inputs(paths, {}, prepared), _cfg(baseline={"enabled": False}))
    model, meta = checkpoint.load(tmp_path / "models" / "cnn.pt")
    assert meta["classes"] == run.classes and meta["image_size"] == 32
    for k in range(3):
        save(face_photo(k, 48), tmp_path / "in" / f"{k}.png")
    (tmp_path / "in" / "broken.jpg").write_bytes(b"nope")
    table, problems = classify([tmp_path / "in"], tmp_path / "models" / "cnn.pt")
    assert len(table) == 3 and [p["file"].endswith("broken.jpg") for p in problems] == [True]
    assert set(table["class"]) <= set(run.classes) and np.allclose(
        table.filter(like="p_").sum(axis=1), 1, atol=1e-4
    )
    from maskutils.modeling.predict import predict_proba

    cnn = next(r for r in run.results if r.kind == "cnn")
    test_rows = prepared.rows("test")
    assert np.allclose(
        predict_proba(model, prepared.images[test_rows]),
        cnn.predictions.filter(like="p_").to_numpy(),
        atol=1e-5,
    )


def test_bad_model_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="dvc repro train"):
        checkpoint.load(tmp_path / "none.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a maskutils model file"):
        checkpoint.load(tmp_path / "junk.pt")


def test_val_shrink_adds_small_copies_of_the_validation_images(tmp_path_factory):
    from maskutils.modeling import build
    from maskutils.modeling.augment import shrunk
    from tests.conftest import TINY_CNN

    p = prepared_synthetic(tmp_path_factory, 60, 32, 3)
    classes, y = p.task("mask_type")
    train, val = p.rows("train"), p.rows("val")
    plain = build.trainer_for(p, y, train, val, params("train", TINY_CNN), len(classes))
    small = build.trainer_for(
        p, y, train, val, params("train", {**TINY_CNN, "val_shrink": 8}), len(classes)
    )
    n = len(val)
    assert len(plain.x_val) == n and len(small.x_val) == 2 * n
    assert np.array_equal(small.y_val, np.concatenate([y[val], y[val]]))
    copies = small.x_val[n:]
    assert np.array_equal(copies, shrunk(p.images[val], 8)) and copies.shape == p.images[val].shape
    # an 8 px face has lost the detail: the copies differ from the originals
    assert np.abs(copies.astype(int) - p.images[val].astype(int)).mean() > 2
