"""The library API: stage options in, sets with their errors and warnings out,
messages naming the parameters (the command line names its flags)."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import run_inproc

import imgdupes
from imgdupes import Config, ConfigError, HashOptions, SearchOptions


def test_found_carries_the_sets_the_unreadable_files_and_the_warnings(dupe_tree):
    root, families = dupe_tree
    (root / "broken.jpg").write_bytes(b"not a picture at all")
    found = imgdupes.find_duplicates(root, "phash", 6, hash_bits=70)
    assert sorted(sorted(s.paths) for s in found) == families  # still a sequence of sets
    assert len(found) == 3 and found[0] is found.sets[0]
    assert [e.path for e in found.errors] == [str(root / "broken.jpg")]
    assert "hash_bits must be the square of n. Use 64 as hash_bits" in found.warnings
    assert any("broken.jpg" in w for w in found.warnings)
    assert found.hash_bits == 64 and found.hashed == 15


def test_stage_options_objects_give_the_same_sets(dupe_tree):
    root, _ = dupe_tree
    plain = imgdupes.find_duplicates(root, "phash", 6, use_cache=False)
    staged = imgdupes.find_duplicates(
        root, hashing=HashOptions(use_cache=False), search=SearchOptions(threshold=6)
    )
    whole = imgdupes.find_duplicates(config=Config(targets=[str(root)], threshold=6))
    assert [s.paths for s in staged] == [s.paths for s in plain] == [s.paths for s in whole]


def test_a_field_given_twice_is_refused(dupe_tree):
    root, _ = dupe_tree
    with pytest.raises(TypeError, match="hash_method"):
        imgdupes.find_duplicates(root, "dhash", hashing=HashOptions(hash_method="ahash"))


def test_options_are_frozen_once_checked():
    config = Config(threshold=10, delete=True)
    with pytest.raises(AttributeError):
        config.threshold = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.search.threshold = 3  # type: ignore[misc]
    assert config.replace(threshold=3).threshold == 3 and config.threshold == 10


def test_messages_name_the_parameter_in_python_and_the_flag_on_the_command_line(tmp_path):
    with pytest.raises(ConfigError) as err:
        imgdupes.find_duplicates(tmp_path, noprompt=True)
    assert str(err.value) == "noprompt only works together with delete"
    assert err.value.options == ["noprompt", "delete"]
    res = run_inproc("-N", str(tmp_path), "phash", "4")
    assert res.code == 2
    assert res.err == "imgdupes: -N/--noprompt only works together with -d/--delete\n"
    with pytest.raises(ConfigError, match="^threshold must be between 0 and 64, got 65$"):
        imgdupes.find_duplicates(tmp_path, threshold=65)
    assert run_inproc(str(tmp_path), "phash", "65").err == (
        "imgdupes: hamming_distance must be between 0 and 64, got 65\n"
    )
    missing = str(tmp_path / "nope.jpg")
    with pytest.raises(imgdupes.RunError, match=f"^query {missing}: no such file$"):
        imgdupes.find_duplicates(tmp_path, query=missing)
    assert run_inproc("--query", missing, str(tmp_path), "phash", "4").err == (
        f"imgdupes: --query {missing}: no such file\n"
    )
