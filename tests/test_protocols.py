"""The three protocols (DESIGN.md §4): which rows and labels each selects, the combinations refused (early,
with one clear message), the config and command line that carry them, and runs under them (proxy losses
sized by the protocol's training classes, the shipped and the extracted features, no re-extraction)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from vgteach import inputs as inputs_module
from vgteach.cli import build_parser, default_out
from vgteach.cli import main as cli_main
from vgteach.data.cifar10 import CLASSES, SUPERCLASSES
from vgteach.data.registry import REGISTRY, get_spec
from vgteach.protocols import PROTOCOLS, protocol_for
from vgteach.training import TrainConfig, make_config, train
from vgteach.training import trainer as trainer_module


def fabricated(num_classes=10, per_class=6):
    """``(x, y)``: rows in class-interleaved order (0, 1, …, K−1, 0, 1, …); x holds each row's position."""
    y = torch.arange(num_classes * per_class) % num_classes
    return torch.arange(len(y)).float()[:, None], y


# -- selection on fabricated labels --------------------------------------------------------------------------
def test_closed_keeps_every_row_and_label():
    x, y = fabricated()
    selected = protocol_for("closed", "cifar10").select(x, y, x, y)
    for got, expected in zip(selected, (x, y, x, y)):
        assert torch.equal(got, expected)


def test_zero_shot_trains_on_the_first_half_and_scores_the_unseen_second_half():
    protocol = protocol_for("zero-shot", "cifar10")
    assert protocol.train_classes == ("airplane", "automobile", "bird", "cat", "deer")
    assert protocol.eval_classes == ("dog", "frog", "horse", "ship", "truck")
    x, y = fabricated()
    x_train, y_train, x_eval, y_eval = protocol.select(x, y, x, y)
    trained, scored = y[x_train.long().flatten()], y[x_eval.long().flatten()]  # the original class ids
    assert set(trained.tolist()) == {0, 1, 2, 3, 4} and set(scored.tolist()) == {5, 6, 7, 8, 9}
    assert torch.equal(y_train, trained) and torch.equal(y_eval, scored - 5)  # relabelled 0..4 on each side
    assert torch.equal(x_train.flatten(), x[y < 5].flatten())  # every row of those classes, in order
    assert protocol.num_train_classes == 5


def test_zero_shot_on_an_odd_number_of_classes_trains_on_the_larger_half():
    spec = replace(get_spec("digits"), name="five", num_classes={"train": 5, "test": 5}, classes=tuple("abcde"))
    protocol = protocol_for("zero-shot", spec)
    assert (protocol.train_classes, protocol.eval_classes) == (("a", "b", "c"), ("d", "e"))


def test_coarse_to_fine_trains_on_superclasses_and_scores_the_fine_labels():
    protocol = protocol_for("coarse-to-fine", "cifar10-features")
    assert protocol.train_classes == ("vehicles", "animals") and protocol.eval_classes == CLASSES
    x, y = fabricated()
    x_train, y_train, x_eval, y_eval = protocol.select(x, y, x, y)
    assert torch.equal(x_train, x) and torch.equal(x_eval, x) and torch.equal(y_eval, y)
    for fine, coarse in zip(y.tolist(), y_train.tolist()):
        assert CLASSES[fine] in list(SUPERCLASSES.values())[coarse]
    assert sorted(CLASSES[k] for k in range(10) if protocol.train_map[k] == 0) == sorted(SUPERCLASSES["vehicles"])


def test_max_per_class_counts_rows_of_the_training_classes():
    x, y = fabricated(per_class=6)
    _, y_train, _, y_eval = protocol_for("zero-shot", "cifar10").select(x, y, x, y, max_per_class=2)
    assert torch.bincount(y_train).tolist() == [2] * 5 and len(y_eval) == 30  # the evaluation split whole
    coarse = protocol_for("coarse-to-fine", "cifar10")
    assert coarse.load_limit(10) == 3 and coarse.load_limit(None) is None  # ⌈10 / 4 vehicle classes⌉
    x_train, y_train, _, _ = coarse.select(x, y, x, y, max_per_class=10)
    assert torch.bincount(y_train).tolist() == [10, 10]
    fine = y[x_train.long().flatten()]
    # the fine classes take turns: each vehicle class 2 or 3 rows, each animal class 1 or 2
    vehicles = [CLASSES.index(name) for name in SUPERCLASSES["vehicles"]]
    counts = torch.bincount(fine, minlength=10)
    assert sorted(counts[vehicles].tolist()) == [2, 2, 3, 3] and set(counts.tolist()) - {2, 3} <= {1}
    assert torch.equal(x_train.flatten(), x_train.flatten().sort().values)  # dataset order kept


def test_labels_outside_the_registry_entry_are_refused():
    x, y = fabricated(num_classes=12)
    with pytest.raises(ValueError, match="training split holds labels outside 0..9"):
        protocol_for("zero-shot", "cifar10").select(x, y, x, y)


def test_class_disjoint_datasets_are_their_own_zero_shot_split():
    protocol = protocol_for("zero-shot", "cub200")
    assert protocol.num_train_classes == 100 and protocol.train_classes[:2] == ("1", "2")
    assert protocol.eval_classes[0] == "101" and protocol.eval_classes[-1] == "200"  # CUB's own class ids
    x, y = fabricated(num_classes=100, per_class=2)
    for got, expected in zip(protocol.select(x, y, x, y), (x, y, x, y)):
        assert torch.equal(got, expected)  # the loaders split the classes already: nothing to select
    assert protocol_for("zero-shot", "cars196").eval_classes[-1] == "196"


# -- what is refused, and when -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "protocol, dataset, words",
    [
        ("open-set", "cifar10", ["unknown protocol 'open-set'", "closed, zero-shot, coarse-to-fine"]),
        ("closed", "cub200", ["'cub200'", "class-disjoint", "'zero-shot' only", "not 'closed'"]),
        ("coarse-to-fine", "cars196", ["'cars196'", "'zero-shot' only"]),
        ("coarse-to-fine", "digits", ["superclass map", "'digits' has none", "cifar10-features, cifar10"]),
        ("coarse-to-fine", "tiny-imagenet", ["superclass map", "datasets with one: cifar10-features, cifar10"]),
    ],
)
def test_bad_combinations_are_one_clear_error(protocol, dataset, words):
    with pytest.raises(ValueError) as error:
        protocol_for(protocol, dataset)
    for word in words:
        assert word in str(error.value)


def test_too_few_classes_on_a_side_is_refused():
    three = replace(get_spec("digits"), name="three", num_classes={"train": 3, "test": 3}, classes=tuple("abc"))
    with pytest.raises(ValueError, match=r"leaves 1 evaluation class\(es\); it needs at least 2 on each side"):
        protocol_for("zero-shot", three)
    lumped = replace(get_spec("cifar10"), name="lumped", superclasses={"everything": CLASSES})
    with pytest.raises(ValueError, match="leaves 1 training class"):
        protocol_for("coarse-to-fine", lumped)


def test_the_config_refuses_a_bad_combination_before_loading_anything(monkeypatch):
    monkeypatch.setattr(inputs_module.InputSpec, "load", lambda *a, **k: pytest.fail("loaded data"))
    with pytest.raises(ValueError, match="'zero-shot' only"):
        make_config("paper", dataset="cub200", backbone="efficientnet_lite0", protocol="closed")
    with pytest.raises(ValueError, match="superclass map"):
        make_config("smoke", dataset="blobs", protocol="coarse-to-fine")
    with pytest.raises(ValueError, match="unknown protocol"):
        make_config("smoke", protocol="zero_shot")


def test_every_superclass_map_holds_each_class_once():
    maps = {name: spec for name, spec in REGISTRY.items() if spec.superclasses}
    assert set(maps) == {"cifar10", "cifar10-features"}
    for spec in REGISTRY.values():
        if spec.classes is not None:
            assert len(spec.classes) == spec.num_classes["train"], spec.name
    for spec in maps.values():
        members = [fine for group in spec.superclasses.values() for fine in group]
        assert sorted(members) == sorted(spec.classes) and len(spec.superclasses) >= 2


# -- the config and the command line carry it ---------------------------------------------------------------
def test_config_round_trip_with_and_without_the_field():
    config = make_config("book", dataset="cifar10-features", protocol="coarse-to-fine")
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    old = {k: v for k, v in config.to_dict().items() if k != "protocol"}  # a study.json from before protocols
    assert TrainConfig.from_dict(old).protocol == "closed"
    assert make_config("book").protocol == "closed"
    old_cub = {**old, "dataset": "cub200", "backbone": "efficientnet_lite0"}
    assert TrainConfig.from_dict(old_cub).protocol == "zero-shot"  # the only protocol CUB supports
    assert make_config("paper", dataset="cars196").protocol == "zero-shot"  # unsaid: the dataset's own split


def test_chapter_config_takes_the_protocol():
    from vgteach.training import chapter_config

    config = chapter_config("book", "arcface", protocol="zero-shot")
    assert (config.dataset, config.protocol) == ("cifar10-features", "zero-shot")
    assert config.protocol_split().eval_classes == ("dog", "frog", "horse", "ship", "truck")


def test_cli_takes_the_protocol_and_names_the_study_by_it(monkeypatch, capsys):
    parser = build_parser()
    assert parser.parse_args(["study"]).protocol is None  # the dataset's own split
    assert parser.parse_args(["study", "--protocol", "coarse-to-fine"]).protocol == "coarse-to-fine"
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["study", "--protocol", "open-set"])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1 and "unknown protocol 'open-set'" in err
    assert default_out("cifar10-features", "closed", "book") == "runs/study-cifar10-features-book"
    assert default_out("cifar10", "zero-shot", "paper") == "runs/study-cifar10-zero-shot-paper"
    assert (
        default_out("cub200", "zero-shot", "paper") == default_out("cub200", None, "paper") == "runs/study-cub200-paper"
    )
    seen = {}
    monkeypatch.setattr("vgteach.training.run_study", lambda **kwargs: seen.update(kwargs))
    assert cli_main(["study", "--no-progress", "--protocol", "zero-shot", "--device", "cpu"]) == 0
    assert seen["protocol"] == "zero-shot" and seen["out"] == "runs/study-cifar10-features-zero-shot-book"


def test_cli_refuses_a_bad_combination_in_one_line(capsys, tmp_path):
    code = cli_main(["study", "--dataset", "digits", "--protocol", "coarse-to-fine", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "superclass map" in err and "cifar10-features" in err


# -- runs under a protocol ----------------------------------------------------------------------------------
@pytest.mark.parametrize("loss", ["arcface", "ccl"])
@pytest.mark.parametrize("protocol, trained, scored", [("coarse-to-fine", 2, 10), ("zero-shot", 5, 5)])
def test_proxy_losses_get_one_proxy_per_training_class(loss, protocol, trained, scored):
    config = make_config("smoke", dataset="cifar10-features", protocol=protocol, loss=loss, epochs=1, max_per_class=40)
    result = train(config, progress=False)
    assert result.loss_fn.num_classes == trained and result.loss_fn.proxies.shape == (trained, 128)
    assert len(set(result.eval_labels.tolist())) == scored
    assert result.history[["train_loss", "recall@1", "intra", "train_intra"]].notna().all(axis=None)


def test_the_shipped_features_under_each_protocol():
    sizes = {}
    for protocol in PROTOCOLS:
        config = make_config("book", dataset="cifar10-features", protocol=protocol)
        x_train, y_train, x_eval, y_eval = trainer_module.load_data(config, progress=False)
        sizes[protocol] = (len(x_train), torch.bincount(y_train).tolist(), len(x_eval), len(set(y_eval.tolist())))
    assert sizes["closed"] == (10_000, [1000] * 10, 3000, 10)
    assert sizes["zero-shot"] == (5000, [1000] * 5, 1500, 5)
    assert sizes["coarse-to-fine"] == (10_000, [4000, 6000], 3000, 10)


def test_a_protocol_reuses_the_extracted_features(tmp_path, monkeypatch):
    """CIFAR-10 (fabricated, its ImageFolder layout) through a frozen backbone (a tiny stand-in): the closed
    study extracts both splits once; zero-shot and coarse-to-fine select from the same cache entries."""
    from test_data import write_cifar_folder
    from test_features import tiny_backbone

    for split in ("train", "test"):
        write_cifar_folder(tmp_path / "data", split, per_class=3)
    monkeypatch.setattr(inputs_module, "build_backbone", tiny_backbone)
    calls, real_extract = [], inputs_module.extract_features
    monkeypatch.setattr(inputs_module, "extract_features", lambda *a, **k: calls.append(1) or real_extract(*a, **k))
    folders = dict(data_root=str(tmp_path / "data"), cache_dir=str(tmp_path / "cache"), device="cpu")
    loaded = {}
    for protocol in PROTOCOLS:
        config = make_config("paper", dataset="cifar10", backbone="efficientnet_lite0", protocol=protocol, **folders)
        loaded[protocol] = trainer_module.load_data(config, progress=False)
    assert len(calls) == 2  # train and test, extracted for the closed protocol only
    x_closed, y_closed, x_test, y_test = loaded["closed"]
    x_zero, y_zero, x_unseen, y_unseen = loaded["zero-shot"]
    assert torch.equal(x_zero, x_closed[y_closed < 5]) and torch.equal(x_unseen, x_test[y_test >= 5])
    assert torch.equal(y_unseen, y_test[y_test >= 5] - 5)
    x_coarse, y_coarse, _, y_fine = loaded["coarse-to-fine"]
    assert torch.equal(x_coarse, x_closed) and set(y_coarse.tolist()) == {0, 1} and torch.equal(y_fine, y_test)
