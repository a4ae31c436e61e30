"""SVG that reads the same on every CPU, and is still an SVG."""

import io
import xml.etree.ElementTree as ElementTree

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from random_nas.svg import stable_svg


def _svg(shift: float) -> str:
    plt.rcParams["svg.hashsalt"] = "test"
    figure, axis = plt.subplots()
    axis.plot([1, 10, 100], [0.5 + shift, 0.7, 0.9])
    axis.set_xscale("log")
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(figure)
    return buffer.getvalue()


def test_coordinates_that_differ_in_the_last_bits_give_the_same_svg():
    first, second = _svg(0.0), _svg(1e-9)
    assert first != second  # the ids hash the geometry, the coordinates differ
    assert stable_svg(first) == stable_svg(second)


def test_the_stable_svg_is_valid_with_every_reference_defined():
    text = stable_svg(_svg(0.0))
    assert text.startswith('<?xml version="1.0"')
    root = ElementTree.fromstring(text.encode())
    ids = {element.get("id") for element in root.iter() if element.get("id")}
    referenced = set()
    for element in root.iter():
        for value in element.attrib.values():
            if value.startswith("url(#"):
                referenced.add(value[5:-1])
            elif value.startswith("#"):
                referenced.add(value[1:])
    assert referenced and referenced <= ids
    assert "63.902812" not in text and not any(len(part) > 2 for part in _decimals(text))


def _decimals(text: str) -> list[str]:
    import re

    return [match.group(1) for match in re.finditer(r"\d\.(\d+)\b", text.split("?>", 1)[1])]
