"""How the stress and recovery reports group failures (pure logic, no browser)."""

from __future__ import annotations

import pytest

from pytest_cdp_accept.engine.stability import error_key, fold_numbers
from pytest_cdp_accept.errors import NavigationError


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("run 7 failed after 1.5 s", "run N failed after N s"),
        ("object at 0x7f3a2b10 is gone", "object at 0xN is gone"),
        ("http://127.0.0.1:59999/ refused", "http://127.0.0.1:59999/ refused"),
        (
            "connect to 10.0.0.12:8080 timed out after 30 s",
            "connect to 10.0.0.12:8080 timed out after N s",
        ),
        ("localhost:3000 and [::1]:8443 are down", "localhost:3000 and [::1]:8443 are down"),
        (
            "GET https://shop.test/cart?item=42 gave 503",
            "GET https://shop.test/cart?item=42 gave N",
        ),
    ],
)
def test_numbers_are_folded_but_urls_and_addresses_kept(text: str, folded: str) -> None:
    assert fold_numbers(text) == folded


def test_failures_against_different_hosts_are_different_kinds() -> None:
    one = NavigationError("http://127.0.0.1:59999/", "net::ERR_CONNECTION_REFUSED")
    other = NavigationError("http://127.0.0.1:59998/", "net::ERR_CONNECTION_REFUSED")
    assert error_key(one) == (
        "NavigationError: navigation to http://127.0.0.1:59999/ failed: net::ERR_CONNECTION_REFUSED"
    )
    assert error_key(one) != error_key(other)
    assert error_key(AssertionError("run 3 failed")) == error_key(AssertionError("run 9 failed"))
