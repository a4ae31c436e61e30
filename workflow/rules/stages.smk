# Input functions of the stages that grow from results: repeats, successive halving and
# Hyperband, a dense grid's replay, and the verification of published runs.


def published_entry(name, arch_id, epochs):
    """The metrics file, in the verification's store, of a published run's candidate
    retrained at `epochs` under the run's own config."""
    published = known(RECIPES.published_config, name)
    data = data_key(data_recipe(published))
    recipe = recipe_key(training_recipe(published, epochs))
    return training_input(VERIFY_STORE, data, recipe, arch_id, published["seed"])


def picked(checkpoint_job):
    """What a checkpoint picked (its output holds the architectures as `arch_ids`)."""
    with open(checkpoint_job.output[0], encoding="utf-8") as handle:
        return json.load(handle)


def repeated_metrics(wildcards):
    """The trainings of the candidates the checkpoint picked, at the full budget: the first
    round's seed, then every extra seed (so repeats.parquet holds every seed of each).
    """
    arch_ids = picked(checkpoints.select_repeats.get())["arch_ids"]
    return [
        entry(arch_id, seed=seed)
        for arch_id in arch_ids
        for seed in [config["seed"], *REPEAT_SEEDS]
    ]


def replay_tables(wildcards):
    """What the replay reads: the dense grid, and the repeats at other seeds (held-out
    evidence for its picks) where the run has them."""
    tables = {"grid": f"{RUN_DIR}/grid.parquet"}
    if REPEAT_SEEDS:
        tables["repeats"] = f"{RUN_DIR}/repeats.parquet"
    return tables


def verification_metrics(wildcards):
    """The published run's candidates that the checkpoint picked, retrained in the store at
    the budget each was published at."""
    selected = picked(checkpoints.select_verification.get(name=wildcards.name))
    return [
        published_entry(wildcards.name, arch_id, epochs)
        for arch_id, epochs in zip(
            selected["arch_ids"], selected["epochs"], strict=True
        )
    ]


def rung_members(rung):
    """The architectures rung `rung` of successive halving trains: every draw for rung 0 (so
    that a dry run shows its trainings), else what the checkpoint decided."""
    if rung == 0:
        return ARCH_IDS
    return picked(checkpoints.rung.get(rung=str(rung)))["arch_ids"]


def previous_rung_metrics(wildcards):
    """What the checkpoint of a rung decides from: the previous rung's results."""
    rung = int(wildcards.rung)
    return [entry(arch_id, BUDGETS[rung - 1]) for arch_id in rung_members(rung - 1)]


def bracket_members(bracket, rung):
    """The architectures rung `rung` of Hyperband's bracket `bracket` trains: the bracket's
    slice of the draw for rung 0, else what the checkpoint decided."""
    start, rungs = BRACKETS[bracket]
    if rung == 0:
        return ARCH_IDS[start : start + rungs[0][0]]
    decided = checkpoints.bracket_rung.get(bracket=str(bracket), rung=str(rung))
    return picked(decided)["arch_ids"]


def previous_bracket_metrics(wildcards):
    """What the checkpoint of a bracket's rung decides from: its previous rung's results."""
    bracket, rung = int(wildcards.bracket), int(wildcards.rung)
    budget = BRACKETS[bracket][1][rung - 1][1]
    return [entry(arch_id, budget) for arch_id in bracket_members(bracket, rung - 1)]


def trial_inputs():
    """Every training of the rungs of successive halving, or of each of Hyperband's brackets,
    as their checkpoints decide: one input function per bracket, so that each bracket's
    pending checkpoint is asked for on its own. Every bracket's rung 0 (known when the
    workflow is parsed) is then in a dry run and trains at once, and no bracket waits for
    another's checkpoints."""

    def bracket_trials(bracket):
        _, rungs = BRACKETS[bracket]
        return lambda wildcards: [
            entry(arch_id, budget)
            for rung, (_, budget) in enumerate(rungs)
            for arch_id in bracket_members(bracket, rung)
        ]

    if HYPERBAND:
        return {
            f"bracket_{number}": bracket_trials(number)
            for number in range(len(BRACKETS))
        }
    return {
        "rungs": lambda wildcards: [
            entry(arch_id, budget)
            for rung, budget in enumerate(BUDGETS)
            for arch_id in rung_members(rung)
        ]
    }
