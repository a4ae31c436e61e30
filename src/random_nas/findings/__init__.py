"""The sentences of the reports: each states numbers that random_nas.analysis computed from
the tables, and names the trainings (budget, draws, seeds) it stands on. The report pages lay
them out; the docs quote them, and tests check the quotes against a fresh render. Decisions
are analysis's; these modules only word them."""

from random_nas.findings.common import (
    NEAR_CHANCE,
    chance_warning,
    counting_note,
    epochs_text,
    evidence_name,
    mixed_hardware,
)
from random_nas.findings.halving import halving_findings, strategy_pick
from random_nas.findings.replay import replay_findings, replay_glance
from random_nas.findings.run import rank_sentence, run_findings, single_seed_lead
from random_nas.findings.strategies import curve_sentence, strategy_findings
from random_nas.findings.study import study_findings
from random_nas.findings.verification import verification_basis, verification_lines

__all__ = [
    "NEAR_CHANCE",
    "chance_warning",
    "counting_note",
    "curve_sentence",
    "epochs_text",
    "evidence_name",
    "halving_findings",
    "mixed_hardware",
    "rank_sentence",
    "replay_findings",
    "replay_glance",
    "run_findings",
    "single_seed_lead",
    "strategy_findings",
    "strategy_pick",
    "study_findings",
    "verification_basis",
    "verification_lines",
]
