"""Usage errors and runtime errors are told apart: a caller can catch the one it can fix."""

from __future__ import annotations

import pytest

from imgdupes import find_duplicates
from imgdupes.errors import ConfigError, InputError, OutputError, RunError


def test_a_missing_folder_is_an_input_error_naming_it(tmp_path):
    missing = str(tmp_path / "nosuch")
    with pytest.raises(InputError) as err:
        find_duplicates(missing, "phash", 4)
    assert err.value.path == missing
    assert not isinstance(err.value, ConfigError)
    assert err.value.exit_status == 2  # as when it was a ConfigError


def test_an_unwritable_output_is_an_output_error(tmp_path):
    with pytest.raises(OutputError) as err:
        find_duplicates(str(tmp_path), "phash", 4, html=str(tmp_path))
    assert err.value.path == str(tmp_path)
    assert isinstance(err.value, RunError)


def test_a_bad_value_is_a_usage_error(tmp_path):
    with pytest.raises(ConfigError):
        find_duplicates(str(tmp_path), "phash", 99)


def test_a_corrupt_exif_block_prints_no_pillow_warning(imgdupes_proc, tmp_path, photo):
    """Pillow only warns about a broken EXIF block and reads the picture; the user
    sees the set, and no Python warning lines on stderr, in the listing and the plan."""
    img = photo(7)
    img.save(tmp_path / "a.jpg", quality=90)
    data = (tmp_path / "a.jpg").read_bytes()
    segment = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x05" + b"\xff" * 40
    app1 = b"\xff\xe1" + (len(segment) + 2).to_bytes(2, "big") + segment
    (tmp_path / "b.jpg").write_bytes(data[:2] + app1 + data[2:])
    for extra in (["--full-decode"], ["-dN", "--dry-run"]):
        res = imgdupes_proc("--no-cache", *extra, str(tmp_path), "phash", "4")
        assert "b.jpg" in res.out
        assert "Warning" not in res.err and "warnings.warn" not in res.err
