"""`--executor`, `--scheduler` and `--site`: parsed and checked before a scan."""

from __future__ import annotations

import ipaddress

import pytest

from scanner.execution.options import Executor, execution_options, parse_site
from scanner.support.errors import InputError


def test_a_site_is_a_block_and_a_name() -> None:
    site = parse_site("10.1.0.0/16=DMZ")
    assert site.network == ipaddress.ip_network("10.1.0.0/16")
    assert (site.name, site.resource) == ("dmz", "site-dmz")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10.1.0.0/16", "give BLOCK=NAME"),
        ("10.1.0.0/16=", "give BLOCK=NAME"),
        ("10.1.0.0/16=d m z", "give BLOCK=NAME"),
        ("10.1.0.0/33=dmz", "is not a CIDR block"),
        ("dmz=10.1.0.0/16", "give BLOCK=NAME"),
        ("not-a-block=dmz", "is not a CIDR block"),
    ],
)
def test_a_bad_site_is_an_input_error(value: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_site(value)


def test_the_most_specific_site_holds_an_address() -> None:
    options = execution_options("dask", None, ("10.0.0.0/8=corp", "10.1.0.0/16=dmz"))
    assert options.executor is Executor.DASK
    assert options.site_of("10.1.2.3") is not None
    assert options.site_of("10.1.2.3").name == "dmz"  # type: ignore[union-attr]
    assert options.site_of("10.9.0.1").name == "corp"  # type: ignore[union-attr]
    assert options.site_of("192.0.2.1") is None
    assert options.site_of("db.example.test") is None  # a name: no site, any worker


@pytest.mark.parametrize(
    ("scheduler", "sites", "message"),
    [
        ("tcp://127.0.0.1:8786", (), "--scheduler is for --executor dask"),
        (None, ("10.0.0.0/8=corp",), "--site is for --executor dask"),
    ],
)
def test_dask_options_need_the_dask_executor(
    scheduler: str | None, sites: tuple[str, ...], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        execution_options("threads", scheduler, sites)


def test_a_scheduler_is_an_address() -> None:
    with pytest.raises(InputError, match="as tcp://HOST:8786"):
        execution_options("dask", "127.0.0.1:8786", ())
    assert execution_options("dask", "tcp://127.0.0.1:8786", ()).scheduler == (
        "tcp://127.0.0.1:8786"
    )
