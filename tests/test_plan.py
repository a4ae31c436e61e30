"""The run's plan and the recipe registry, made as the workflow makes them when it is parsed,
tested without Snakemake."""

import copy
import os
import time

import pytest
import yaml
from conftest import REPO, SCHEMA, TINY_CONFIG

from random_nas.console import written_reports
from random_nas.plan import ConfigError, config_problem, plan_run, schema_defaults
from random_nas.recipes import RecipeRegistry, UnknownRecipe, data_recipe, training_recipe
from random_nas.store.layout import data_key, recipe_key

DEFAULTS = schema_defaults(
    yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
)


def config(**sections):
    merged = copy.deepcopy(DEFAULTS)
    for key, value in sections.items():
        if isinstance(value, dict):
            merged[key].update(value)
        else:
            merged[key] = value
    return merged


def test_the_default_plan_draws_twenty_at_three_epochs_on_the_cpu():
    plan = plan_run(config(), gpu=False)
    assert len(plan.arch_ids) == 20 and plan.budgets == [3] and plan.trained_budgets == [3]
    assert plan.repeat_seeds == [1, 2] and not plan.halving and not plan.train_on_gpu
    assert plan.gpu_share == 1 and plan.run_dir == "results/default"
    # The draw is the sample's: the same config draws the same architectures.
    assert plan_run(config(), gpu=False).arch_ids == plan.arch_ids


def test_a_live_search_states_its_resolved_batch_size_and_leaves_the_config_as_given():
    given = config(search={"strategy": "regularized_evolution"}, training={"threads": 1})
    as_given = copy.deepcopy(given)
    plan = plan_run(given, gpu=False, cores=3)
    assert given == as_given and given["search"]["batch_size"] is None
    assert plan.batch_size == 3 and plan.config["search"]["batch_size"] == 3
    # The size the first batch was asked with holds whatever cores a later parse is given.
    assert plan_run(given, gpu=False, cores=8, recorded_batch=3).config["search"]["batch_size"] == 3
    # A random search has no batches: its config is stated as given.
    assert plan_run(config(), gpu=False, cores=3).config == config()


def test_all_enumerates_the_space_in_a_seeded_order_at_every_budget_of_a_dense_grid():
    space = {"num_layers": 2, "filters": [8, 12], "kernel_sizes": [3], "strides": [1, 2]}
    grid = config(
        num_architectures="all",
        search_space=space,
        training={"epochs": 3},
        search={"strategy": "successive_halving", "dense_grid": True},
    )
    plan = plan_run(grid, gpu=False)
    assert plan.space.size == 16 and plan.config["num_architectures"] == 16
    assert sorted(record["index"] for record in plan.sampled.values()) == list(range(16))
    assert plan.ladder == [1, 3] and plan.trained_budgets == [1, 3]
    # The order is the draw of 16 with the run's sampling seed: another seed, another order.
    assert plan.arch_ids == plan_run({**grid, "num_architectures": 16}, gpu=False).arch_ids
    assert plan.arch_ids != plan_run({**grid, "sampling_seed": 7}, gpu=False).arch_ids


def test_the_published_enumeration_replays_every_strategy_and_a_prefix_of_it_is_refused_them():
    published = yaml.safe_load((REPO / "config/published/mnist5k-space512.yaml").read_text())
    given = config(**published)
    plan = plan_run(given, gpu=False)
    assert plan.config["num_architectures"] == plan.space.size == 512 and plan.ladder == [1, 3, 9]
    # Its first 256, the part one sitting trains, is a sampled grid: evolution is refused there.
    with pytest.raises(ConfigError, match="'regularized_evolution', which cannot be replayed on"):
        plan_run({**given, "num_architectures": 256}, gpu=False)
    unreplayed = {**given["report"], "replay_strategies": []}
    prefix = plan_run({**given, "num_architectures": 256, "report": unreplayed}, gpu=False)
    assert prefix.arch_ids == plan.arch_ids[:256]


def test_halving_hyperband_and_a_dense_grid_plan_their_budgets():
    halving = plan_run(
        config(training={"epochs": 9}, search={"strategy": "successive_halving"}), gpu=False
    )
    assert halving.ladder == halving.budgets == [1, 3, 9] and halving.halving
    hyperband = plan_run(
        config(num_architectures=17, training={"epochs": 9}, search={"strategy": "hyperband"}),
        gpu=False,
    )
    assert [(start, len(schedule)) for start, schedule in hyperband.brackets] == [
        (0, 3),
        (9, 2),
        (14, 1),
    ]
    grid = plan_run(config(training={"epochs": 9}, search={"dense_grid": True}), gpu=False)
    assert grid.budgets == [9] and grid.trained_budgets == [1, 3, 9]


@pytest.mark.parametrize(
    ("sections", "named"),
    [
        ({"num_architectures": 30, "search_space": {"num_layers": 1, "filters": [8]}},
         "holds only"),
        ({"dataset": {"val_size": 5000}}, "dataset.val_size"),
        ({"training": {"epochs": 10}, "search": {"strategy": "hyperband"}}, "training.epochs 9"),
        ({"num_architectures": 16, "training": {"epochs": 9}, "search": {"strategy": "hyperband"}},
         "multiple of 17"),
        ({"repeats": {"top_k": 3, "seeds": [0, 1]}}, "repeats.seeds"),
        ({"search": {"strategy": "successive_halving", "eta": 1}}, "search.eta"),
    ],
)  # fmt: skip
def test_a_config_that_cannot_be_planned_is_named_in_one_line(sections, named):
    with pytest.raises(ConfigError) as refused:
        plan_run(config(**sections), gpu=False)
    assert named in str(refused.value) and "\n" not in str(refused.value)


def test_a_gpu_is_asked_for_where_auto_finds_one_and_shared_by_k():
    plan = plan_run(config(training={"trainings_per_gpu": 2}), gpu=True)
    assert plan.train_on_gpu and plan.gpu_share == 2
    assert not plan_run(config(training={"device": "cpu"}), gpu=True).train_on_gpu


def test_the_registry_knows_published_recipes_and_names_what_it_does_not(tmp_path):
    published = tmp_path / "published/mnist5k-100"
    published.mkdir(parents=True)
    run = config(run="mnist5k-100", num_architectures=4, training={"lr": 0.1})
    (published / "config.yaml").write_text(yaml.safe_dump(run))
    (published / "candidates.parquet").write_bytes(b"")
    completed = []
    registry = RecipeRegistry(tmp_path / "published", complete=completed.append)
    own = config()
    key = registry.add(own, [3])
    assert registry.published_names() == ["mnist5k-100"] and not completed

    # A published run's recipe is found by its keys, read once from its committed config.
    data = data_key(data_recipe(run))
    recipe = recipe_key(training_recipe(run, 3))
    assert registry.training_of(data, recipe)["lr"] == 0.1 and len(completed) == 1
    assert registry.data_of(key) == data_recipe(own)
    registry.training_of(data, recipe)
    assert len(completed) == 1
    with pytest.raises(UnknownRecipe, match=r"training recipe \S+ is not one this workflow knows"):
        registry.training_of(data, "e3-0000000000")
    with pytest.raises(UnknownRecipe, match="architecture 0123456789ab"):
        registry.architecture_of("0123456789ab")


def test_the_end_of_run_lines_name_only_what_this_run_wrote(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    old = tmp_path / "results/published/old/report/index.html"
    new = tmp_path / "results/tiny/report/index.html"
    for path in (old, new):
        path.parent.mkdir(parents=True)
        path.write_text("report")
    started = time.time() - 30  # the run started before it wrote its report
    os.utime(old, (started - 60, started - 60))
    assert written_reports("tiny", "results/tiny", started) == [
        "The report of run 'tiny': results/tiny/report/index.html"
    ]


def test_a_renamed_key_is_named_with_its_new_name():
    from random_nas.plan import config_problem

    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    old = config(report={"top_k": 5})
    del old["report"]["ranking_rows"]
    assert (
        config_problem(old, schema) == "config key report.top_k is now called report.ranking_rows"
    )


def test_a_plan_too_large_is_warned_with_its_cost_or_refused_where_it_cannot_fit():
    from random_nas.plan import _scale_warnings

    assert _scale_warnings(3_000, available=2**40) == []
    (warning,) = _scale_warnings(1_000_000, available=2**40)
    assert "planning 1,000,000 training jobs takes Snakemake about 27 min and 24.9 GiB" in warning
    with pytest.raises(ConfigError, match=r"24\.9 GiB before .* more than the 8\.0 GiB"):
        _scale_warnings(1_000_000, available=8 * 2**30)


BAD_CONFIGS = [
    ({"num_architectures": 0}, "num_architectures"),
    ({"num_architectures": "many"}, "num_architectures"),
    ({"num_architectures": 5000}, "holds only 4096"),
    (
        {"num_architectures": "most"},
        "num_architectures is 'most'; it may be an integer of at least 1 or 'all'",
    ),
    (
        {"num_architectures": "all", "search_space": {"num_layers": 5}},
        "config num_architectures is 'all': search_space holds 32,768 architectures, 32,768 "
        "trainings (32,768 epochs of training) to enumerate, more than the 10,000",
    ),
    ({"search_space": {"filters": []}}, "filters"),
    ({"search_space": {"strides": [1, 1]}}, "strides"),
    ({"search_space": {"kernel_sizes": [3, 4]}}, "kernel_sizes"),
    ({"dataset": {"name": "imagenet"}}, "mnist5k"),
    ({"training": {"device": "tpu"}}, "device"),
    ({"training": {"epochs": "three"}}, "epochs"),
    ({"training": {"epoch": 3}}, "epoch"),
    ({"trainig": {"epochs": 3}}, "trainig"),
    ({"run": "../elsewhere"}, "run"),
    ({"run": "a/b"}, "run"),
    ({"dataset": {"val_size": 4900}}, "dataset.val_size is 4900, which leaves no training images"),
    (
        {"dataset": {"val_size": 3000, "train_size": 2000}},
        "dataset.val_size (3000) + dataset.train_size (2000) is 5,000, more than the 4,800",
    ),
    ({"dataset": {"test_size": 5000}}, "dataset.test_size is 5000, but mnist5k has 5,000"),
    ({"report": {"top_k": 5}}, "config key report.top_k is now called report.ranking_rows"),
]

BAD_SEARCHES = [
    (
        {"strategy": "bohb"},
        "config search.strategy is 'bohb'; known: random, successive_halving, hyperband, "
        "random_search, regularized_evolution, local_search, tpe, or a file of your own",
    ),
    # The tiny run's 3 draws: the brackets of 1 and 3 epochs take 3 + 2 per iteration.
    (
        {"strategy": "hyperband"},
        "config num_architectures is 3, but Hyperband's brackets take 3 + 2 = 5 draws",
    ),
    ({"strategy": "successive_halving", "eta": 1}, "search.eta"),
    ({"strategy": "successive_halving", "min_epochs": 5}, "search.min_epochs is 5"),
]


def refusal(*overrides: dict) -> str:
    """Why the workflow refuses the tiny config with `overrides`, each given as a further
    `--configfile`, made in-process as the Snakefile makes it: config.yaml, then each file
    merged over it, the schema's problem (config_problem), else the plan's (ConfigError)."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import update_config, validate

    merged = copy.deepcopy(DEFAULTS)
    for layer in (TINY_CONFIG, *overrides):
        update_config(merged, copy.deepcopy(layer))
    try:
        validate(merged, str(SCHEMA))
    except WorkflowError:
        return config_problem(merged, yaml.safe_load(SCHEMA.read_text()))
    with pytest.raises(ConfigError) as refused:
        plan_run(merged, gpu=False, cores=1)
    return str(refused.value)


@pytest.mark.parametrize(("overrides", "named"), BAD_CONFIGS)
def test_a_bad_config_is_refused_naming_the_key(overrides, named):
    assert named in refusal(overrides)


@pytest.mark.parametrize(("search", "named"), BAD_SEARCHES)
def test_bad_search_settings_are_refused_naming_the_key(search, named):
    assert named in refusal({"search": search, "training": {"epochs": 3}})


def test_each_operational_setting_alone_leaves_every_recipe_as_it_was():
    """Operational keys change how a run runs, never what it trains: each alone leaves the
    data and training recipes (the store's keys) as they were (test_workflow checks them all
    at once against Snakemake's plan)."""
    from snakemake.utils import update_config
    from test_workflow import OPERATIONAL_CHANGES, tiny

    def keys(config: dict) -> tuple[str, str]:
        merged = copy.deepcopy(DEFAULTS)
        update_config(merged, copy.deepcopy(config))
        return data_key(data_recipe(merged)), recipe_key(training_recipe(merged, 1))

    for key, value in OPERATIONAL_CHANGES.items():
        assert keys(tiny(**{key: value})) == keys(tiny()), key
    assert keys(tiny(training__lr=0.1))[1] != keys(tiny())[1]  # a recipe key does change it
    assert keys(tiny(dataset__val_size=100))[0] != keys(tiny())[0]
