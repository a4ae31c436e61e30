"""A store's own files and a command's arguments are checked before they can delete anything:
no path is followed out of the store, a held claim is kept and said to be held, and the
store's settings are validated where they are read, naming their file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_entry import ENTRY, finish

from random_nas.cli import main as cli
from random_nas.entry import Store, WaitLimitReached
from random_nas.files import InputFileError
from random_nas.store import StorePathError, private_dir


def outside_folder(tmp_path: Path) -> Path:
    """A colleague's folder outside the store, with a file and a folder in it."""
    outside = tmp_path / "colleague"
    (outside / "thesis").mkdir(parents=True)
    (outside / "thesis" / "chapter1.tex").write_text("years of work")
    (outside / "notes.txt").write_text("notes")
    return outside


def unchanged(outside: Path) -> bool:
    return (outside / "thesis" / "chapter1.tex").read_text() == "years of work" and (
        outside / "notes.txt"
    ).read_text() == "notes"


def test_a_claims_folder_linked_out_of_the_store_is_refused_and_nothing_outside_is_deleted(
    tmp_path,
):
    root, outside = tmp_path / "store", outside_folder(tmp_path)
    entry = root / ENTRY
    entry.parent.mkdir(parents=True)
    Path(private_dir(str(entry))).symlink_to(outside, target_is_directory=True)
    store = Store(root)
    with pytest.raises(StorePathError, match=r"\.seed_0\.training is a link"):
        store.obtain(entry, lambda claim: finish(claim.folder))
    assert unchanged(outside)
    # `store clean` removes the link alone.
    assert cli(["store", "clean", "--store", str(root)]) == 0
    assert unchanged(outside) and not Path(private_dir(str(entry))).exists()


def test_an_entrys_folder_linked_out_of_the_store_is_neither_read_nor_written(tmp_path):
    root, outside = tmp_path / "store", outside_folder(tmp_path)
    recipe = (root / ENTRY).parents[1]
    recipe.parent.mkdir(parents=True)
    recipe.symlink_to(outside, target_is_directory=True)
    with pytest.raises(StorePathError, match="is a link"):
        Store(root).obtain(root / ENTRY, lambda claim: finish(claim.folder))
    assert unchanged(outside) and sorted(p.name for p in outside.iterdir()) == [
        "notes.txt",
        "thesis",
    ]


@pytest.mark.parametrize("name", ["../colleague/thesis/seed_0", "a/../../colleague/x/seed_0"])
def test_a_name_leading_out_of_the_store_removes_nothing(tmp_path, capsys, name):
    root, outside = tmp_path / "store", outside_folder(tmp_path)
    (outside / "thesis" / "seed_0").mkdir()
    root.mkdir()
    assert cli(["store", "remove", "--store", str(root), name]) == 1
    assert "is not an entry's name" in capsys.readouterr().err
    assert unchanged(outside) and (outside / "thesis" / "seed_0").is_dir()


def test_store_clean_beside_a_held_claim_keeps_it_and_says_so(tmp_path, capsys):
    root = tmp_path / "store"
    store = Store(root)
    with store.claim(root / ENTRY) as claim:
        assert cli(["store", "clean", "--store", str(root)]) == 0
        assert claim.folder.is_dir() and claim.holds()
        assert "kept " in capsys.readouterr().out
        # Retiring or removing a held entry is refused naming the holder, and leaves no trace.
        with pytest.raises(WaitLimitReached, match="is still being trained by"):
            store.retire(root / ENTRY, "a test")
        assert not list((root / "retired").glob("*")) if (root / "retired").exists() else True


@pytest.mark.parametrize("value", [0, -5, "abc", None, True, float("inf")])
def test_store_settings_are_checked_where_they_are_read_naming_the_file(tmp_path, value):
    root = tmp_path / "store"
    root.mkdir()
    (root / "store.json").write_text(json.dumps({"lease_seconds": value}))
    with pytest.raises(InputFileError, match=r"store\.json: lease_seconds is"):
        Store(root)
