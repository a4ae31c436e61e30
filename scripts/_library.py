"""Puts the repository's library (src/) first on the path of the workflow script importing it.

Snakemake adds a script's own folder to its path, so every job finds this module, and through
it the library beside the workflow it was deployed with: in the project's venv, in a conda
environment made from workflow/envs/, on a cluster node, or inside another workflow that uses
this one as a module, installed or not.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
