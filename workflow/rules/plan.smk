# The run's plan, stated before it starts and in a dry run (random_nas.plan_statement):
# what trains now, what only copies into receipts, at most what each checkpoint adds.
# Included last: it reads what every stage defines.


def store_entry_of(receipt):
    """The store entry a receipt (results/receipts/{store}/.../metrics.json) is a copy of."""
    tag, _, key = receipt.removeprefix("results/receipts/").partition("/")
    return os.path.join(STORES[tag], os.path.dirname(key))


def trainings_named_now():
    """Every training the plan names before any checkpoint runs (receipt paths)."""
    if DENSE_GRID:
        named = list(GRID_TRIALS)
    elif HYPERBAND:
        named = [
            entry(arch_id, rungs[0][1])
            for start, rungs in BRACKETS
            for arch_id in ARCH_IDS[start : start + rungs[0][0]]
        ]
    elif HALVING:
        named = [entry(arch_id, BUDGETS[0]) for arch_id in ARCH_IDS]
    elif LIVE:
        # The batches asked so far (a search interrupted mid-way has some to finish).
        named = [
            entry(item["arch_id"], item["epochs"])
            for record in batch_records()
            for item in record["proposals"]
        ]
    else:
        named = [entry(arch_id) for arch_id in ARCH_IDS]
    return list(dict.fromkeys(named + FULL_BUDGET_TRIALS))


def trainings_later():
    """What each checkpoint may add, at most."""
    later = []
    if HYPERBAND:
        later += hyperband_later(BRACKETS)
    elif HALVING:
        later += halving_later(len(ARCH_IDS), BUDGETS, config["search"]["eta"])
    elif LIVE:
        later += search_later(
            len(ARCH_IDS),
            searched_so_far(),
            PLAN.batch_size,
            config["training"]["epochs"],
        )
    return later + repeats_later(
        config["repeats"]["top_k"] if REPEAT_SEEDS else 0,
        REPEAT_SEEDS,
        config["training"]["epochs"],
    )


def plan_lines():
    """The run's plan, stated (random_nas.plan_statement)."""
    statement = Statement(
        config["run"],
        [(receipt, store_entry_of(receipt)) for receipt in trainings_named_now()],
        trainings_later(),
    )
    return statement.lines()


if workflow.output_settings.dryrun:
    if not OTHERS_ONLY:
        for line in plan_lines() + (next_batch_lines() if LIVE else []):
            logger.info(line)
    if "verify_published" in TARGETS:
        for line in verification_estimate(
            Path("results/published"), config["verify"]["k"]
        ):
            logger.info(line)
