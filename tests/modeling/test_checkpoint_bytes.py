"""A checkpoint's bytes depend on the weights, not on their memory layout: a model trained
channels_last and the same weights loaded into a fresh model save the same file, so a stage that
loads a kept model (instead of training it) leaves what comes after it with nothing to re-run."""

import torch

from maskutils.modeling import checkpoint
from maskutils.modeling.models import build_cnn


def test_channels_last_and_loaded_weights_save_the_same_bytes(tmp_path):
    torch.manual_seed(0)
    trained = build_cnn("tiny3", 3, 32).to(memory_format=torch.channels_last)
    assert any(not v.is_contiguous() for v in trained.state_dict().values())
    meta = dict(kind="cnn", name="tiny3", classes=["a", "b", "c"], image_size=32, task="t")
    checkpoint.save(trained, tmp_path / "a" / "m.pt", **meta)
    fresh = build_cnn("tiny3", 3, 32)
    fresh.load_state_dict(trained.state_dict())
    checkpoint.save(fresh, tmp_path / "b" / "m.pt", **meta)
    assert (tmp_path / "a" / "m.pt").read_bytes() == (tmp_path / "b" / "m.pt").read_bytes()
