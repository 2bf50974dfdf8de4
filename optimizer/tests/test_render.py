"""The one place reports format money, numbers, long values and tables."""

from __future__ import annotations

from ecs_optimizer.output import render


def test_money_and_numbers():
    assert render.usd(1234.5) == "$1,234.50"
    assert render.usd(-12) == "-$12.00"
    assert render.cents(1234.5) == "1234.50"
    assert render.quantity(1095.0) == "1,095"
    assert render.quantity(237.25) == "237.25"


def test_truncate_keeps_short_text_and_marks_a_cut():
    assert render.truncate("abc", 3) == "abc"
    assert render.truncate("abcdef", 5) == "ab..."
    assert len(render.truncate("x" * 500, 60)) == 60


def test_markdown_table_escapes_pipes_and_right_aligns_amounts():
    out = render.markdown_table(["service", "saving"], [["a|b", "$1.00"], ["c", "-$2.00"]])
    assert out.splitlines() == ["| service | saving |", "|:---|---:|", "| a\\|b | $1.00 |", "| c | -$2.00 |"]


def test_text_table_wraps_to_the_terminal_unless_asked_not_to(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    long = "x" * 70
    wrapped = render.text_table(["field", "value"], [["a", long]])
    assert long not in wrapped and wrapped.count("x") == 70
    one_line = render.table("table", ["field", "value"], [["a", long]])
    assert any(line.startswith("a") and line.endswith(long) for line in one_line.splitlines())
    assert render.table("markdown", ["field"], [["a"]]).startswith("| field |")


def test_numeric_columns_are_those_after_the_first_with_only_amounts():
    assert render.numeric_columns([["1", "$2", "x"], ["3", "-$1", "4"]]) == [1]
    assert render.numeric_columns([]) == []
