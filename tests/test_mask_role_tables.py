"""The chapters' tables of what layers do with a mask agree with Keras, and none is typed by hand.

A chapter states the roles of built-in layers (generator, modifier, pass-through,
consumer, destroys) only in a code cell that calls
``helpers.tracing.roles.mask_role_table`` on real layers and asserts the role of
each row against a dict ``expected_roles`` written in the same cell. These tests
run each such cell again, on its own, and check that

- every row's role is the one the cell expects (so Keras still does that);
- the rows the cell stored in the notebook are the rows it computes now;
- no markdown table row in a chapter types such a role by hand.
"""

import re

import pytest
from nbtools import chapter_paths, read_chapter

from helpers.tracing.roles import ROLE_OF_EVENT, RoleTable, mask_role_table


def _role_cells():
    found = []
    for path in chapter_paths():
        for index, cell in enumerate(read_chapter(path.stem).cells):
            if cell.cell_type == "code" and "mask_role_table(" in cell.source:
                found.append(pytest.param(path.stem, index, id=f"{path.stem}-cell{index}"))
    return found


ROLE_CELLS = _role_cells()


def test_the_book_has_role_tables():
    chapters = {param.values[0] for param in ROLE_CELLS}
    assert {"04_propagation", "06_mask_consumers"} <= chapters, chapters


@pytest.mark.parametrize("chapter, index", ROLE_CELLS)
def test_role_table_rows_agree_with_trace_masks(chapter, index):
    cell = read_chapter(chapter).cells[index]
    namespace = {}
    exec(compile(cell.source, f"{chapter} cell {index}", "exec"), namespace)  # noqa: S102
    expected = namespace.get("expected_roles")
    tables = [v for v in namespace.values() if isinstance(v, RoleTable)]
    assert isinstance(expected, dict) and expected, "the cell must define expected_roles = {label: role}"
    assert len(tables) == 1, "the cell must compute exactly one RoleTable"
    table = tables[0]
    assert set(expected.values()) <= set(ROLE_OF_EVENT.values())
    for label, role in expected.items():
        assert table.roles.get(label) == role, f"{label}: the cell expects {role!r}, Keras gives {table.roles.get(label)!r}"
    assert list(table.roles) == list(expected), "every row of the table has an expected role, in the same order"
    stored = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    assert str(table) in stored, "the table stored in the notebook is not the one the cell computes now"


def test_mask_role_table_catches_a_wrong_expectation():
    from keras import layers

    table = mask_role_table({"Flatten": layers.Flatten(), "Dense": layers.Dense(2)})
    assert table.roles == {"Flatten": "destroys", "Dense": "pass-through"}
    assert table.roles != {"Flatten": "consumer", "Dense": "pass-through"}
    assert table[0].warns and not table[1].warns


def test_mask_role_table_generators_and_explicit_masks():
    import keras
    from keras import layers

    assert mask_role_table({"e": layers.Embedding(10, 4, mask_zero=True)}, start="ids").roles == {"e": "generator"}
    assert mask_role_table({"m": layers.Masking()}, start="features").roles == {"m": "generator"}
    softmax = mask_role_table(
        {"s": lambda x, mask: layers.Softmax(axis=1)(layers.Dense(1)(x), mask=keras.ops.expand_dims(mask, -1))})
    assert softmax.roles == {"s": "pass-through"} and softmax[0].mask_out == (3, 6, 1)


@pytest.mark.parametrize(
    "probes, kwargs, error, words",
    [
        ([("a", 1)], {}, TypeError, "must be a dict"),
        ({}, {}, ValueError, "must hold at least one"),
        ({"a": 3}, {}, TypeError, "must be a keras layer or a callable"),
        ({"a": None}, {"start": "pixels"}, ValueError, "`start` must be one of"),
    ],
)
def test_mask_role_table_bad_input(probes, kwargs, error, words):
    with pytest.raises(error, match=words):
        mask_role_table(probes, **kwargs)


def test_a_failing_probe_is_named():
    from keras import layers

    with pytest.raises(ValueError, match="probe 'softmax after embedding' failed"):
        mask_role_table({"softmax after embedding": layers.Softmax()})


_HAND_TYPED = re.compile(r"\b(consumer|generator|pass-through|modifier|destroys?)\b", re.I)


@pytest.mark.parametrize("path", chapter_paths(), ids=lambda p: p.stem)
def test_no_hand_typed_role_rows(path):
    rows = []
    for index, cell in enumerate(read_chapter(path.stem).cells):
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.count("|") >= 3 and "`" in line and _HAND_TYPED.search(line):
                rows.append(f"cell {index}: {line[:80]}")
    assert not rows, "hand-typed rows about layers' mask roles; compute them with mask_role_table:\n" + "\n".join(rows)
