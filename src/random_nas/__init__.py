"""Random-search NAS benchmark: search space, training, results table and reports.

Importing the package is cheap (no torch): the workflow samples and names architectures at
parse time, and the report renders from the results table alone.
"""

__version__ = "0.1.0"
