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


def test_text_table_wraps_at_spaces_to_the_terminal_and_never_inside_a_word(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    words = ["alarm", "threshold", "autoscaling", "capacity"] * 5
    wrapped = render.text_table(["field", "value"], [["a", " ".join(words)]])
    assert all(len(line) <= 40 for line in wrapped.splitlines()), wrapped
    assert len(wrapped.splitlines()) > 3  # it wrapped
    cells = [w for w in wrapped.split() if w not in ("field", "value") and not w.startswith("─")]
    assert sorted(cells) == sorted(["a", *words])  # every word whole
    long = "x" * 70  # one word wider than the terminal: the table is drawn wider, the word whole
    assert long in render.text_table(["field", "value"], [["a", long]])
    one_line = render.table("table", ["field", "value"], [["a", long]])
    assert any(line.startswith("a") and line.endswith(long) for line in one_line.splitlines())
    assert render.table("markdown", ["field"], [["a"]]).startswith("| field |")


def test_a_task_definition_arn_is_shown_as_family_and_revision():
    arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/frontend-dev:12"
    assert render.short_arn(arn) == "frontend-dev:12"
    assert render.short_arn("arn:aws:ecs:us-east-1:123456789012:service/c/frontend").startswith("arn:")


def test_numeric_columns_are_those_after_the_first_with_only_amounts():
    assert render.numeric_columns([["1", "$2", "x"], ["3", "-$1", "4"]]) == [1]
    assert render.numeric_columns([]) == []
