"""How often verification calls a correct published table off, and how often it finds a shifted
one: the simulation of tests/test_verification.py (correct tables as mnist5k-100 makes them,
retrained elsewhere under fresh seed noise), with more simulations and the rates' Monte-Carlo
standard errors.

    .venv/bin/python benchmarks/verification.py [SIMULATIONS]

Writes benchmarks/results/verification.{json,md}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from test_verification import NOISE, SPREAD, _simulated_run  # noqa: E402

from random_nas.analysis.verification import (  # noqa: E402
    VERIFY_LEVEL,
    VERIFY_POWER,
    verification_table,
)


def main(simulations: int) -> dict:
    rng = np.random.default_rng(2026)
    counts = {"table_called_off": 0, "winner_called_off": 0, "shift_found": 0, "raised_found": 0}
    for _ in range(simulations):
        published, repeats, retrained, winner = _simulated_run(rng)
        table, joint = verification_table(published, retrained, repeats, 1000, 0, 10)
        counts["table_called_off"] += not joint["holds"]
        counts["winner_called_off"] += not table.set_index("arch_id").loc[winner, "agrees"]
        shift = table.set_index("arch_id").loc[winner, "detectable_shift"]
        retrained.loc[retrained["arch_id"] == winner, "val_accuracy"] -= shift
        table = verification_table(published, retrained, repeats, 1000, 0, 10)[0]
        counts["shift_found"] += not table.set_index("arch_id").loc[winner, "agrees"]
        published, repeats, retrained, winner = _simulated_run(rng, published_shift=0.02)
        counts["raised_found"] += not verification_table(
            published, retrained, repeats, 1000, 0, 10
        )[1]["holds"]
    rates = {
        name: {
            "rate": count / simulations,
            "se": float(np.sqrt(count / simulations * (1 - count / simulations) / simulations)),
        }
        for name, count in counts.items()
    }
    result = {
        "simulations": simulations,
        "level": VERIFY_LEVEL,
        "power": VERIFY_POWER,
        "seed_noise": NOISE,
        "spread_of_architectures": SPREAD,
        "rates": rates,
    }
    out = REPO / "benchmarks/results"
    (out / "verification.json").write_text(json.dumps(result, indent=2) + "\n")
    names = {
        "table_called_off": "a correct table called off (the joint verdict)",
        "winner_called_off": "a correct winner found not to agree",
        "shift_found": "a winner retrained its stated detectable shift low, found",
        "raised_found": "a table whose winner is published 2 points high, called off",
    }
    lines = [
        "# Verification's error rates, simulated\n",
        f"{simulations:,} simulated correct tables as mnist5k-100 makes them (100 draws, the top "
        f"10 retrained with two other seeds, seed noise {100 * NOISE:.2f} points, architectures "
        f"spread {100 * SPREAD:.1f} points), the winner and one other retrained elsewhere under "
        f"fresh seed noise; the tests run at {100 * VERIFY_LEVEL:.0f} % with "
        f"{100 * VERIFY_POWER:.0f} % power at the stated detectable shift. ± is one Monte-Carlo "
        "standard error. Machine-independent (no training).\n",
        "| what | rate |",
        "| --- | --- |",
        *(
            f"| {names[name]} | {100 * rate['rate']:.1f} ± {100 * rate['se']:.1f} % |"
            for name, rate in rates.items()
        ),
    ]
    (out / "verification.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4000)
