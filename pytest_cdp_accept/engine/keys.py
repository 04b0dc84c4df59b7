"""Keyboard and mouse definitions for real input (``Input.dispatchKeyEvent`` /
``Input.dispatchMouseEvent``): a US keyboard layout, key-combination parsing
(``"Control+A"``) and the CDP parameters of each event. No browser here.

Key names are those of the DevTools input domain and of ``KeyboardEvent.key``
(``Enter``, ``Tab``, ``ArrowDown``, ``Backspace``, ``a``, ``A``, ``!``), or a
``KeyboardEvent.code`` (``KeyA``, ``Digit1``, ``ShiftLeft``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..errors import UsageError

MouseButton = Literal["left", "right", "middle", "back", "forward"]
MOUSE_BUTTONS: dict[str, int] = {"left": 1, "right": 2, "middle": 4, "back": 8, "forward": 16}
MODIFIER_BITS: dict[str, int] = {"Alt": 1, "Control": 2, "Meta": 4, "Shift": 8}
MODIFIER_ALIASES = {"Ctrl": "Control", "Cmd": "Meta", "Command": "Meta", "Option": "Alt"}
KEYPAD = 3  # KeyboardEvent.location of the numeric keypad


@dataclass(frozen=True)
class Key:
    """One key of the layout, as it reaches the page."""

    key: str
    code: str
    key_code: int
    text: str = ""
    location: int = 0
    shifted: Key | None = None


def _build_layout() -> dict[str, Key]:
    layout: dict[str, Key] = {}

    def add(key: Key) -> None:
        layout.setdefault(key.code, key)
        layout.setdefault(key.key, key)
        if key.shifted is not None:
            layout.setdefault(key.shifted.key, key.shifted)

    for name, (code, key_code) in {
        "Shift": ("ShiftLeft", 16),
        "Control": ("ControlLeft", 17),
        "Alt": ("AltLeft", 18),
        "Meta": ("MetaLeft", 91),
    }.items():
        add(Key(name, code, key_code, location=1))
        right = code.replace("Left", "Right")
        layout[right] = Key(name, right, key_code, location=2)
    named = {
        "Backspace": 8, "Tab": 9, "Pause": 19, "CapsLock": 20, "Escape": 27, "PageUp": 33,
        "PageDown": 34, "End": 35, "Home": 36, "ArrowLeft": 37, "ArrowUp": 38,
        "ArrowRight": 39, "ArrowDown": 40, "PrintScreen": 44, "Insert": 45, "Delete": 46,
        "ContextMenu": 93, "NumLock": 144, "ScrollLock": 145,
    }  # fmt: skip
    for name, key_code in named.items():
        add(Key(name, name, key_code))
    add(Key("Enter", "Enter", 13, "\r"))
    add(Key(" ", "Space", 32, " "))
    layout["Space"] = layout[" "]
    for n in range(1, 13):
        add(Key(f"F{n}", f"F{n}", 111 + n))
    for offset, letter in enumerate("abcdefghijklmnopqrstuvwxyz"):
        upper = letter.upper()
        code = f"Key{upper}"
        add(Key(letter, code, 65 + offset, letter, shifted=Key(upper, code, 65 + offset, upper)))
    for digit, shifted in zip("0123456789", ")!@#$%^&*(", strict=True):
        code = f"Digit{digit}"
        key_code = 48 + int(digit)
        add(Key(digit, code, key_code, digit, shifted=Key(shifted, code, key_code, shifted)))
    punctuation = {
        "Minus": ("-", "_", 189), "Equal": ("=", "+", 187), "BracketLeft": ("[", "{", 219),
        "BracketRight": ("]", "}", 221), "Backslash": ("\\", "|", 220),
        "Semicolon": (";", ":", 186), "Quote": ("'", '"', 222), "Backquote": ("`", "~", 192),
        "Comma": (",", "<", 188), "Period": (".", ">", 190), "Slash": ("/", "?", 191),
    }  # fmt: skip
    for code, (plain, shifted, key_code) in punctuation.items():
        add(Key(plain, code, key_code, plain, shifted=Key(shifted, code, key_code, shifted)))
    for digit in "0123456789":
        layout[f"Numpad{digit}"] = Key(digit, f"Numpad{digit}", 96 + int(digit), digit, KEYPAD)
    layout["NumpadEnter"] = Key("Enter", "NumpadEnter", 13, "\r", KEYPAD)
    return layout


LAYOUT = _build_layout()
TYPED_ALIASES = {"\n": "Enter", "\r": "Enter", "\t": "Tab"}


def key_for(name: str) -> Key:
    """The layout's key for a key name, code or character; UsageError if unknown."""
    key = LAYOUT.get(MODIFIER_ALIASES.get(name, name))
    if key is None:
        raise UsageError(
            f"unknown key {name!r}: use a KeyboardEvent.key name (Enter, Tab, ArrowDown, "
            "Backspace, a, A, !) or a code (KeyA, Digit1, ShiftLeft)"
        )
    return key


def split_combination(combination: str) -> list[str]:
    """``"Control+Shift+A"`` -> ``["Control", "Shift", "A"]``; ``"Control++"`` ends in ``+``."""
    if not isinstance(combination, str) or not combination:
        raise UsageError(f"a key is a non-empty string, got {combination!r}")
    keys: list[str] = []
    building = ""
    for char in combination:
        if char == "+" and building:
            keys.append(building)
            building = ""
        else:
            building += char
    if not building:
        raise UsageError(f"key {combination!r} ends with '+': name the key after it")
    keys.append(building)
    return keys


def modifier_mask(modifiers: Sequence[str]) -> int:
    mask = 0
    for name in modifiers:
        mask |= MODIFIER_BITS[name]
    return mask


def parse_modifiers(modifiers: Sequence[str] | None) -> list[str]:
    """Checked modifier names (``Alt``, ``Control``, ``Meta``, ``Shift``)."""
    if modifiers is None:
        return []
    if isinstance(modifiers, str):
        raise UsageError(f"modifiers is a list of key names, e.g. ['Shift'], not {modifiers!r}")
    names = []
    for name in modifiers:
        canonical = MODIFIER_ALIASES.get(name, name)
        if canonical not in MODIFIER_BITS:
            raise UsageError(f"modifier {name!r}: expected one of {', '.join(MODIFIER_BITS)}")
        names.append(canonical)
    return names


class KeyboardState:
    """Which modifiers a page's keyboard holds down, so that every event carries them."""

    def __init__(self) -> None:
        self.held: list[str] = []

    @property
    def mask(self) -> int:
        return modifier_mask(self.held)

    def down(self, name: str) -> dict[str, Any]:
        key = key_for(name)
        if key.key in MODIFIER_BITS and key.key not in self.held:
            self.held.append(key.key)
        effective = self._effective(key)
        return {
            "type": "keyDown" if effective.text else "rawKeyDown",
            "modifiers": self.mask,
            "windowsVirtualKeyCode": effective.key_code,
            "code": effective.code,
            "key": effective.key,
            "text": effective.text,
            "unmodifiedText": effective.text,
            "location": effective.location,
            "isKeypad": effective.location == KEYPAD,
            "autoRepeat": False,
        }

    def up(self, name: str) -> dict[str, Any]:
        key = key_for(name)
        if key.key in self.held:
            self.held.remove(key.key)
        effective = self._effective(key)
        return {
            "type": "keyUp",
            "modifiers": self.mask,
            "windowsVirtualKeyCode": effective.key_code,
            "code": effective.code,
            "key": effective.key,
            "location": effective.location,
        }

    def _effective(self, key: Key) -> Key:
        if "Shift" in self.held and key.shifted is not None:
            key = key.shifted
        # With Control, Alt or Meta down a key types nothing (it is a shortcut).
        if any(m in self.held for m in ("Control", "Alt", "Meta")):
            key = replace(key, text="")
        return key

    def press(self, combination: str) -> list[dict[str, Any]]:
        """The events of one press of ``combination``: its keys down in order, up in reverse."""
        names = split_combination(combination)
        for name in names:
            key_for(name)  # every name checked before any event is built
        events = [self.down(name) for name in names]
        events += [self.up(name) for name in reversed(names)]
        return events

    def release_all(self) -> list[dict[str, Any]]:
        return [self.up(name) for name in reversed(list(self.held))]


def typed(text: str) -> list[tuple[str, str]]:
    """How to type ``text``: ("key", name) for characters on the layout, else
    ("insert", text) for runs of others (emoji, accented letters), as an IME would."""
    steps: list[tuple[str, str]] = []
    for char in text:
        name = TYPED_ALIASES.get(char, char)
        if name in LAYOUT and (len(name) > 1 or LAYOUT[name].text):
            steps.append(("key", name))
        elif steps and steps[-1][0] == "insert":
            steps[-1] = ("insert", steps[-1][1] + char)
        else:
            steps.append(("insert", char))
    return steps


def mouse_events(
    x: float,
    y: float,
    *,
    button: str = "left",
    click_count: int = 1,
    modifiers: int = 0,
    move_only: bool = False,
) -> list[dict[str, Any]]:
    """``mouseMoved`` to the point, then a press and release per click (the second
    click of a double click carries clickCount 2, as a real one does)."""
    if button not in MOUSE_BUTTONS:
        raise UsageError(f"button={button!r}: expected one of {', '.join(MOUSE_BUTTONS)}")
    if not isinstance(click_count, int) or click_count < 1:
        raise UsageError(f"click_count={click_count!r}: expected a whole number >= 1")
    events: list[dict[str, Any]] = [
        {"type": "mouseMoved", "x": x, "y": y, "button": "none", "buttons": 0,
         "modifiers": modifiers},
    ]  # fmt: skip
    if move_only:
        return events
    mask = MOUSE_BUTTONS[button]
    for count in range(1, click_count + 1):
        common = {"x": x, "y": y, "button": button, "clickCount": count, "modifiers": modifiers}
        events.append({"type": "mousePressed", "buttons": mask, **common})
        events.append({"type": "mouseReleased", "buttons": 0, **common})
    return events
