# Input functions of a live search (rules/search.smk): its batches, asked at checkpoints,
# and the trainings each asked for.


def searched_batch(number):
    """A live search's batch `number` (once its checkpoint has asked the strategy): its
    proposals, whose architectures the train jobs are then given."""
    with open(
        checkpoints.ask.get(batch=str(number)).output[0], encoding="utf-8"
    ) as handle:
        record = json.load(handle)
    RECIPES.add_draw(record["proposals"])
    return record


def batch_file(number):
    return f"{RUN_DIR}/search/batch_{number}.json"


def asked_before(wildcards):
    """What the checkpoint asking batch k rebuilds the strategy from: every earlier batch and
    the trainings it asked for."""
    batches, metrics = [], []
    for number in range(int(wildcards.batch)):
        record = searched_batch(number)
        batches.append(batch_file(number))
        metrics += [
            entry(item["arch_id"], item["epochs"]) for item in record["proposals"]
        ]
    return {"batches": batches, "metrics": metrics}


def searched(wildcards):
    """Every batch of a live search and its trainings, batch by batch until one ends it."""
    batches, metrics, number = [], [], 0
    while True:
        record = searched_batch(number)
        batches.append(batch_file(number))
        if record["done"]:
            return {"batches": batches, "metrics": metrics}
        metrics += [
            entry(item["arch_id"], item["epochs"]) for item in record["proposals"]
        ]
        number += 1


def batch_records():
    """A live search's batch files on disk, in order (read for the plan statement)."""
    records = []
    for path in Path(RUN_DIR).glob("search/batch_*.json"):
        with open(path, encoding="utf-8") as handle:
            records.append(json.load(handle))
    return sorted(records, key=lambda record: record["batch"])


def searched_so_far():
    """Trainings' worth a live search has asked for, by its batch files on disk."""
    return max(
        (
            record["spent_before"] + len(record["proposals"])
            for record in batch_records()
        ),
        default=0.0,
    )


def next_batch_lines():
    """A live search's next step, for a dry run: the batch still training, or the next batch
    to be asked. A dry run never calls the strategy: what it proposes is asked of it, with a
    time limit, when the run starts."""
    records = batch_records()
    if records and records[-1]["done"]:
        return [f"  the search ended after batch {len(records) - 2}"]
    receipts = [
        entry(item["arch_id"], item["epochs"])
        for record in records
        for item in record["proposals"]
    ]
    missing = [receipt for receipt in receipts if not Path(receipt).exists()]
    if missing:
        return [
            f"  batch {len(records) - 1} still trains {len(missing)} of its trainings"
        ]
    return [
        f"  next: batch {len(records)}, up to {PLAN.batch_size} trainings, asked of "
        f"{config['search']['strategy']} when the run starts (a dry run never asks it)"
    ]
