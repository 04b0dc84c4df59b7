"""Selector parsing and keyboard/mouse definitions: pure logic, no browser."""

from __future__ import annotations

import pytest

from pytest_cdp_accept import UsageError
from pytest_cdp_accept.engine.keys import (
    KeyboardState,
    key_for,
    mouse_events,
    parse_modifiers,
    split_combination,
    typed,
)
from pytest_cdp_accept.engine.selectors import parse_selector

# -- selectors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "parts"),
    [
        ("button.primary", [{"engine": "css", "css": "button.primary"}]),
        ("input[name=q]", [{"engine": "css", "css": "input[name=q]"}]),
        ("css=a:not([href])", [{"engine": "css", "css": "a:not([href])"}]),
        ("text=Try it out", [{"engine": "text", "text": "Try it out", "exact": False}]),
        ("text=  Try   it\n out ", [{"engine": "text", "text": "Try it out", "exact": False}]),
        ('text="Try it out"', [{"engine": "text", "text": "Try it out", "exact": True}]),
        ("text='It\\'s'", [{"engine": "text", "text": "It's", "exact": True}]),
        ('"Execute"', [{"engine": "text", "text": "Execute", "exact": True}]),
        ("'Execute'", [{"engine": "text", "text": "Execute", "exact": True}]),
        ('text="say \\"hi\\""', [{"engine": "text", "text": 'say "hi"', "exact": True}]),
        ("text=/^exec/i", [{"engine": "text", "regex": "^exec", "flags": "i"}]),
        ("xpath=//button[1]", [{"engine": "xpath", "xpath": "//button[1]"}]),
        ("//div[@id='x']", [{"engine": "xpath", "xpath": "//div[@id='x']"}]),
        ("..", [{"engine": "xpath", "xpath": ".."}]),
        (
            ".opblock-get >> text=Execute",
            [
                {"engine": "css", "css": ".opblock-get"},
                {"engine": "text", "text": "Execute", "exact": False},
            ],
        ),
        (
            'text="a >> b" >> span',
            [
                {"engine": "text", "text": "a >> b", "exact": True},
                {"engine": "css", "css": "span"},
            ],
        ),
    ],
)
def test_selectors_parse(selector: str, parts: list[dict[str, object]]) -> None:
    assert parse_selector(selector) == parts


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("", "empty selector"),
        ("   ", "empty selector"),
        ("a >> ", "an empty part"),
        (">> a", "an empty part"),
        ("a >> >> b", "an empty part"),
        ("text=", "needs something after"),
        ("xpath=  ", "needs something after"),
        ("role=button", "unknown selector engine 'role'"),
        ('text="open', "unterminated"),
        ("'open", "unterminated"),
        ('text=""', "quoted text is empty"),
    ],
)
def test_malformed_selectors_are_usage_errors(selector: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_selector(selector)


def test_a_selector_must_be_a_string() -> None:
    with pytest.raises(UsageError, match="a selector is a string"):
        parse_selector(None)  # type: ignore[arg-type]


def test_parsed_parts_are_fresh_copies() -> None:
    first = parse_selector("a >> b")
    first[0]["css"] = "changed"
    assert parse_selector("a >> b")[0]["css"] == "a"


# -- keyboard -----------------------------------------------------------------------------


def test_key_definitions_follow_the_us_layout() -> None:
    enter = key_for("Enter")
    assert (enter.key, enter.code, enter.key_code, enter.text) == ("Enter", "Enter", 13, "\r")
    a = key_for("a")
    assert (a.key, a.code, a.key_code, a.text) == ("a", "KeyA", 65, "a")
    assert key_for("A").text == "A"
    assert key_for("KeyA").key == "a"
    bang = key_for("!")
    assert (bang.code, bang.key_code, bang.text) == ("Digit1", 49, "!")
    assert key_for("ArrowDown").key_code == 40
    assert key_for("ArrowDown").text == ""
    assert key_for(" ").code == "Space"
    assert key_for("Space").text == " "
    assert key_for("ShiftRight").location == 2
    assert key_for("Ctrl").key == "Control"
    assert key_for("Numpad5").location == 3
    with pytest.raises(UsageError, match="unknown key 'Contrl'"):
        key_for("Contrl")


@pytest.mark.parametrize(
    ("combination", "keys"),
    [
        ("Enter", ["Enter"]),
        ("Control+A", ["Control", "A"]),
        ("Control+Shift+ArrowLeft", ["Control", "Shift", "ArrowLeft"]),
        ("Control++", ["Control", "+"]),
        ("+", ["+"]),
    ],
)
def test_combinations_split(combination: str, keys: list[str]) -> None:
    assert split_combination(combination) == keys


def test_a_combination_ending_in_plus_names_no_key() -> None:
    with pytest.raises(UsageError, match="ends with"):
        split_combination("Control+")


def test_control_a_is_a_shortcut_that_types_nothing() -> None:
    events = KeyboardState().press("Control+A")
    assert [(e["type"], e["key"], e["modifiers"]) for e in events] == [
        ("rawKeyDown", "Control", 2),
        ("rawKeyDown", "A", 2),
        ("keyUp", "A", 2),
        ("keyUp", "Control", 0),
    ]
    assert events[1]["windowsVirtualKeyCode"] == 65
    assert events[1]["code"] == "KeyA"
    assert events[1]["text"] == ""


def test_shift_gives_the_shifted_character() -> None:
    events = KeyboardState().press("Shift+1")
    down = events[1]
    assert (down["type"], down["key"], down["text"], down["modifiers"]) == ("keyDown", "!", "!", 8)


def test_a_plain_key_types_its_text() -> None:
    down, up = KeyboardState().press("Enter")
    assert (down["type"], down["text"], down["unmodifiedText"]) == ("keyDown", "\r", "\r")
    assert up["type"] == "keyUp"
    assert "text" not in up


def test_an_unknown_key_in_a_combination_sends_nothing() -> None:
    keyboard = KeyboardState()
    with pytest.raises(UsageError):
        keyboard.press("Shift+Nope")
    assert keyboard.held == []


def test_typed_text_uses_keys_where_the_layout_has_them() -> None:
    assert typed("Hi!\n") == [("key", "H"), ("key", "i"), ("key", "!"), ("key", "Enter")]
    assert typed("café ☕") == [
        ("key", "c"),
        ("key", "a"),
        ("key", "f"),
        ("insert", "é"),
        ("key", " "),
        ("insert", "☕"),
    ]
    assert typed("日本") == [("insert", "日本")]


def test_modifiers() -> None:
    assert parse_modifiers(None) == []
    assert parse_modifiers(["Shift", "Ctrl"]) == ["Shift", "Control"]
    with pytest.raises(UsageError, match="modifier 'Hyper'"):
        parse_modifiers(["Hyper"])
    with pytest.raises(UsageError, match="a list of key names"):
        parse_modifiers("Shift")  # type: ignore[arg-type]


# -- mouse --------------------------------------------------------------------------------


def test_a_click_is_move_press_release() -> None:
    events = mouse_events(10.5, 20, modifiers=8)
    seen = [(e["type"], e.get("button"), e.get("buttons"), e.get("clickCount")) for e in events]
    assert seen == [
        ("mouseMoved", "none", 0, None),
        ("mousePressed", "left", 1, 1),
        ("mouseReleased", "left", 0, 1),
    ]
    assert all((e["x"], e["y"], e["modifiers"]) == (10.5, 20, 8) for e in events)


def test_a_double_click_counts_its_second_click() -> None:
    events = mouse_events(1, 1, click_count=2, button="right")
    assert [(e["type"], e.get("clickCount")) for e in events[1:]] == [
        ("mousePressed", 1),
        ("mouseReleased", 1),
        ("mousePressed", 2),
        ("mouseReleased", 2),
    ]
    assert events[1]["buttons"] == 2


def test_mouse_arguments_are_checked() -> None:
    with pytest.raises(UsageError, match="button='wheel'"):
        mouse_events(0, 0, button="wheel")
    with pytest.raises(UsageError, match="click_count=0"):
        mouse_events(0, 0, click_count=0)
    assert len(mouse_events(0, 0, move_only=True)) == 1
