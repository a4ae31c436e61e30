"""What the pages share: numbers formatted for people, Markdown and HTML tables, the HTML page
with its Findings, tables and figures."""

from __future__ import annotations

import html
from collections.abc import Mapping

import pandas as pd

from random_nas.report.plots import caption

# Where a dense grid's report points at the replay of strategies on it (rule `replay`).
REPLAY_LINK = "Search strategies replayed on this dense grid:"


def as_percent(value: float) -> str:
    return "" if pd.isna(value) else f"{100 * value:.2f}"


def as_count(value: float) -> str:
    return "" if pd.isna(value) else f"{int(value):,}"


def as_mega(value: float) -> str:
    return "" if pd.isna(value) else f"{value / 1e6:.2f}"


def as_seconds(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.1f}"


DISPLAY_COLUMNS = {
    "rank": ("rank", str),
    "arch_id": ("arch_id", str),
    "val_accuracy": ("val acc %", as_percent),
    "test_accuracy": ("test acc %", as_percent),
    "params": ("params", as_count),
    "flops": ("MFLOPs", as_mega),
    "train_seconds": ("train s", as_seconds),
    "peak_memory_bytes": ("peak MiB", lambda value: as_mega(value * 1e6 / 2**20)),
}


def display(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Columns formatted for people: accuracy in percent, FLOPs in millions."""
    return pd.DataFrame(
        {DISPLAY_COLUMNS[name][0]: frame[name].map(DISPLAY_COLUMNS[name][1]) for name in columns}
    )


def winner_layers(row: pd.Series) -> pd.DataFrame:
    """The seed's output table: per layer, the number of filters, filter size and stride."""
    layers = int(row["num_layers"])
    table = pd.DataFrame(
        {
            "layer": range(1, layers + 1),
            "filters": [int(row[f"layer_{n:02d}_filters"]) for n in range(1, layers + 1)],
            "filter size": [
                f"{int(row[f'layer_{n:02d}_kernel_size'])}x{int(row[f'layer_{n:02d}_kernel_size'])}"
                for n in range(1, layers + 1)
            ],
            "stride": [int(row[f"layer_{n:02d}_stride"]) for n in range(1, layers + 1)],
        }
    )
    return table


def markdown_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "(none)\n"
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = ["| " + " | ".join(map(str, values)) + " |" for values in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows]) + "\n"


def html_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p>(none)</p>"
    return frame.to_html(index=False, border=0, classes="table", escape=True)


def html_page(
    heading: str,
    statements: list[str],
    upper: list[tuple[str, pd.DataFrame]],
    lower: list[tuple[str, pd.DataFrame]],
    svgs: Mapping[str, str],
    replay: bool = False,
) -> str:
    body = [f"<h1>{html.escape(heading)}</h1>", "<h2>Findings</h2><ul>"]
    body += [f"<li>{html.escape(line)}</li>" for line in statements] + ["</ul>"]
    if replay:
        body.append(
            f'<p>{html.escape(REPLAY_LINK)} <a href="replay.md">replay.md</a> (<a '
            'href="replay.svg">plot</a>, <a href="replay.csv">table</a>).</p>'
        )
    for title, section in upper:
        body += [f"<h2>{html.escape(title)}</h2>", html_table(section)]
    for plot, svg in svgs.items():
        body += [
            f'<figure><img alt="{plot}" src="data:image/svg+xml;base64,{svg}">',
            f"<figcaption>{html.escape(caption(plot))}</figcaption></figure>",
        ]
    for title, section in lower:
        body += [f"<h2>{html.escape(title)}</h2>", html_table(section)]
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:0.5em auto}td,th{padding:2px 10px;"
        "text-align:right;border-bottom:1px solid #ddd}figure{margin:2em auto;text-align:center}"
        "img{max-width:100%}figcaption{color:#555;font-size:0.9em;max-width:800px;"
        "margin:0.3em auto}li{margin:0.3em 0}"
    )
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(heading)}</title><style>{style}</style></head>"
        "<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
