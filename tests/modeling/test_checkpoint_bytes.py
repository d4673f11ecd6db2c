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
    # a depthwise convolution's weight (C x 1 x k x k): `is_contiguous()` in either layout, but
    # its strides differ, and torch.save writes them
    trained.add_module("depthwise", torch.nn.Conv2d(4, 4, 3, groups=4, bias=False))
    trained.depthwise.to(memory_format=torch.channels_last)
    assert trained.depthwise.weight.stride() != torch.empty(4, 1, 3, 3).stride()
    meta = dict(kind="cnn", name="tiny3", classes=["a", "b", "c"], image_size=32, task="t")
    checkpoint.save(trained, tmp_path / "a" / "m.pt", **meta)
    fresh = build_cnn("tiny3", 3, 32)
    fresh.add_module("depthwise", torch.nn.Conv2d(4, 4, 3, groups=4, bias=False))
    fresh.load_state_dict(trained.state_dict())
    checkpoint.save(fresh, tmp_path / "b" / "m.pt", **meta)
    assert (tmp_path / "a" / "m.pt").read_bytes() == (tmp_path / "b" / "m.pt").read_bytes()
