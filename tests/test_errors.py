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
