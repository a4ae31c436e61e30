"""Search strategies as ask/tell: each proposes the next batch of trainings from the results so
far, deterministic given its seed and that history, so that the workflow can rebuild it at
every checkpoint of a live search, and the replay can run it on a dense grid.

- `protocol`: what a strategy is given (SearchContext), proposes (Proposal) and is told
  (Observation); the base class and the settings check. Stdlib only.
- `registry`: the strategies known by name, and a user's own (`path/to/file.py:Name`).
- `search`: a live search's history rebuilt from its batches, and its next batch.
- `random_search`, `evolution` (regularized evolution, Syne Tune's searcher), `local_search`
  (White et al.'s, the glue around its neighbourhood), `tpe` (Optuna's TPE sampler).
"""
