import os
import stat

import pytest

from random_nas.files import atomic_path, write_json, write_text


@pytest.fixture
def umask():
    """Set a umask for the test, restore the session's after it."""
    previous = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(previous)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_written_files_get_the_mode_open_would_give_them(tmp_path, umask, mask):
    umask(mask)
    write_json(tmp_path / "metrics.json", {"a": 1})
    write_text(tmp_path / "table.csv", "x\n")
    with atomic_path(tmp_path / "model.pt") as temporary:
        temporary.write_bytes(b"\0")
    with open(tmp_path / "reference", "w") as handle:
        handle.write("x")
    expected = stat.S_IMODE((tmp_path / "reference").stat().st_mode)
    assert expected == 0o666 & ~mask
    for name in ("metrics.json", "table.csv", "model.pt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == expected, name


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "metrics.json"
    write_json(target, {"old": True})
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == '{\n  "old": true\n}\n'
    assert [path.name for path in tmp_path.iterdir()] == ["metrics.json"]
