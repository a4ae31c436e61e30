"""One train job (rule `train`): make sure one training is in the store, then write this
working directory's receipt of it (random_nas.job does the work).

A thin job: its arguments are the job's request (JSON: the recipe, whose hash is in the
entry's path, and the operational settings), its attempt and its time limit in minutes. Where
the run started a warm trainer (its socket in the environment), the training is forked from
it and this process only waits and passes signals on (random_nas.warm); elsewhere (a cluster
node, RANDOM_NAS_WARM_TRAINER=0) it trains here. Until then it imports nothing but the
standard library.
"""

import json
import os
import sys

import _library  # noqa: F401  (src/ first on the path)

from random_nas.warm import SOCKET_ENV, train_through

request = {
    **json.loads(sys.argv[1]),
    "attempt": int(sys.argv[2]),
    "runtime_minutes": float(sys.argv[3]),
}
trainer = os.environ.get(SOCKET_ENV)
status = None if trainer is None else train_through(trainer, request)
if status is None:
    from random_nas.job import run_request

    status = run_request(request)
sys.exit(status)
