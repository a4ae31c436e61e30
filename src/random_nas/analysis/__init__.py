"""Statistics that decide, computed from the tables alone (no sentences, no plots, no torch).

- `draws`: statistics over a run's draws: the counting rule, rankings, Pareto fronts, the
  expected best of n, EDFs, rank correlations, the comparison of two samples of draws.
- `seeds`: seed noise, measured on the seeds that did not select.
- `verification`: a published table against its retrainings, judged on unselected evidence.
- `fidelity`: which trainings (budget, draws) each statistic uses; the rungs of successive
  halving and Hyperband as the run promoted them, and what they bought.
- `replay`: strategies simulated on a dense grid, their picks scored on held-out evidence.

The sentences that state these numbers are random_nas.findings'; the plots, random_nas.report's.
"""
