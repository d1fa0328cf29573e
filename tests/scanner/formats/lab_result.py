"""The demo lab's scan as a result, without the lab: the report's layout tests
need a realistic, assessed report, and starting the lab's servers for it would
be slow.

The hosts, services and probe observations are those `python -m fixtures.lab.demo`
records (fixtures/lab/targets.yaml); the findings come from the built-in rules
and the assessment from the lab's inventory, as in a real scan. So the report
has what a real one has: long vulnerability lists, data stores holding masked
customer data, systems with long names, every table and chart filled.
"""

from __future__ import annotations

from functools import lru_cache

from scanner.assessment.inventory import load_inventory
from scanner.assessment.risk import assessed
from scanner.model import Host, Observation, PortStateCount, Reason, ScanResult
from scanner.rule_engine.loader import load_rules
from scanner.rule_engine.rules import evaluate
from scanner.support.resources import builtin_rules_dir
from tests.factories import make_host, make_observation, make_result, make_service
from tests.support import FIXTURES

INVENTORY = FIXTURES / "inventory" / "demo-assets.yaml"
PORTS = "1-1024,5432,6379,8080"

# address: (port, name, product, version, extrainfo, cpe)
_SERVICES = {
    "127.0.0.10": (80, "http", "Apache httpd", "2.2.15", "(CentOS)", "apache:http_server:2.2.15"),
    "127.0.0.11": (80, "http", "Apache httpd", "2.4.49", "(Unix)", "apache:http_server:2.4.49"),
    "127.0.0.12": (8080, "http", "Apache httpd", "2.4.62", "(Debian)", "apache:http_server:2.4.62"),
    "127.0.0.13": (
        80,
        "http",
        "Apache httpd",
        "2.2.15",
        "(CentOS) DAV/2 PHP/5.3.3 mod_ssl/2.2.15 OpenSSL/1.0.1e-fips",
        "apache:http_server:2.2.15",
    ),
    "127.0.0.14": (22, "ssh", "OpenSSH", "7.4", "protocol 2.0", "openbsd:openssh:7.4"),
    "127.0.0.15": (6379, "redis", "Redis key-value store", "7.0.15", "", "redislabs:redis:7.0.15"),
    "127.0.0.16": (
        5432,
        "postgresql",
        "PostgreSQL DB",
        "9.6.0 or later",
        "",
        "postgresql:postgresql",
    ),
}


def _host(address: str) -> Host:
    port, name, product, version, extrainfo, cpe = _SERVICES[address]
    service = make_service(
        port=port,
        name=name,
        product=product,
        version=version,
        extrainfo=extrainfo,
        cpes=(f"cpe:/a:{cpe}",),
    )
    closed = PortStateCount("closed", 1026, (Reason("reset", 1026),))
    return make_host(
        address=address,
        status_reason="localhost-response",
        services=(service,),
        extraports=(closed,),
    )


def _firewall(address: str) -> tuple[Observation, ...]:
    evidence = (
        f"nmap scan of 1027 TCP ports (tcp {PORTS}): 1 open; 1026 closed (reset): "
        "reset 1026; 0 filtered"
    )
    return tuple(
        make_observation(
            host=address, port=None, probe="firewall", key=key, value=value, evidence=ev
        )
        for key, value, ev in (
            ("firewall.posture", "unfiltered", evidence),
            ("firewall.probed_ports", "1027", ""),
            ("firewall.filtered_ports", "0", ""),
            ("firewall.answering_ports", "1026", ""),
        )
    )


def _web(address: str, server: str, status: int) -> tuple[Observation, ...]:
    port = _SERVICES[address][0]
    return tuple(
        make_observation(host=address, port=port, probe="http", key=key, value=value, evidence=ev)
        for key, value, ev in (
            ("http.server_header", server, f"GET / answered with Server: {server}"),
            ("http.tokens", "Server", f"Server: {server}"),
            ("http.redirects_to_https", "no", f"GET / ended with {status} at / over plain HTTP"),
        )
    )


def _pii(category: str, where: str, records: int, samples: str) -> tuple[str, str, str]:
    return (
        f"store.pii.{category}",
        str(records),
        f"{category} in {where} (~{records} records); masked samples: {samples}",
    )


_REDIS_PLAIN = "no TLS: the port speaks Redis in plaintext; a plaintext PING answered '+PONG'"
_PG_PLAIN = "SSLRequest answered 'N': the server has no TLS; plaintext connections are accepted"
_STORES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "127.0.0.15": (
        ("store.auth", "none", "PING without AUTH answered +PONG"),
        ("store.tls_offered", "no", _REDIS_PLAIN),
        ("store.plaintext_allowed", "yes", _REDIS_PLAIN),
        (
            "store.personal_data",
            "yes",
            "read: 4 container(s); personal data in key-pattern db0 customer:*: ~250 records; "
            "email (email), phone (phone), card_number (card-number), password (password), "
            "name (name)",
        ),
        ("store.records", "361", ""),
        _pii("card-number", "db0 customer:*", 250, "**** **** **** 1161, **** **** **** 2824"),
        _pii("email", "db0 customer:*, db0 session:*", 310, "g***@example.net, i***@example.com"),
        _pii("name", "db0 customer:*", 250, "G***, I***, B***"),
        _pii("password", "db0 customer:*", 250, "********, bcrypt hash"),
        _pii("phone", "db0 customer:*", 250, "+** **** ****07, +** **** ****16"),
        ("store.contact_data", "310", "contact data: email, name, phone"),
        ("store.password_storage", "plaintext", "sampled passwords: 9 bcrypt, 11 plaintext"),
        (
            "store.card_numbers_plaintext",
            "20",
            "20 sampled value(s) are valid card numbers in the clear (Luhn)",
        ),
    ),
    "127.0.0.16": (
        ("store.auth", "none", "logged in as postgres without a password (trust authentication)"),
        ("store.tls_offered", "no", _PG_PLAIN),
        ("store.plaintext_allowed", "yes", _PG_PLAIN),
        (
            "store.personal_data",
            "yes",
            "read as postgres: 3 container(s); personal data in table shop.public.customers: "
            "~250 records; first_name (name), last_name (name), email (email), phone (phone), "
            "national_id (national-id), card_number (card-number), password (password)",
        ),
        ("store.records", "890", ""),
        _pii("address", "shop.public.customers", 250, "9***, 6***, 2***"),
        _pii("birth-date", "shop.public.customers", 250, "1***"),
        _pii("card-number", "shop.public.customers", 250, "**** **** **** 1059"),
        _pii("email", "shop.public.customers", 250, "m***@example.com, v***@example.net"),
        _pii("name", "shop.public.customers", 250, "M***, V***, T***"),
        _pii("national-id", "shop.public.customers", 250, "***-**-4320, ***-**-4322"),
        _pii("password", "shop.public.customers", 250, "********"),
        _pii("phone", "shop.public.customers", 250, "+** **** ****61, +** **** ****08"),
        ("store.contact_data", "250", "contact data: address, birth-date, email, name, phone"),
        ("store.password_storage", "plaintext", "sampled passwords: 20 plaintext"),
        (
            "store.card_numbers_plaintext",
            "20",
            "20 sampled value(s) are valid card numbers in the clear (Luhn)",
        ),
    ),
}


def _stores() -> tuple[Observation, ...]:
    return tuple(
        make_observation(
            host=address,
            port=_SERVICES[address][0],
            probe="datastore",
            key=key,
            value=value,
            evidence=evidence,
        )
        for address, facts in _STORES.items()
        for key, value, evidence in facts
    )


@lru_cache(maxsize=1)
def lab_result() -> ScanResult:
    """The demo lab scanned and assessed (7 hosts, about 30 findings)."""
    addresses = tuple(_SERVICES)
    hosts = tuple(_host(a) for a in addresses)
    observations = (
        tuple(o for a in addresses for o in _firewall(a))
        + _web("127.0.0.10", "Apache/2.2.15 (CentOS)", 403)
        + _web("127.0.0.11", "Apache/2.4.49 (Unix)", 200)
        + _web("127.0.0.12", "Apache/2.4.62 (Debian)", 200)
        + _web(
            "127.0.0.13",
            "Apache/2.2.15 (CentOS) DAV/2 PHP/5.3.3 mod_ssl/2.2.15 OpenSSL/1.0.1e-fips",
            200,
        )
        + _stores()
    )
    rules = load_rules([builtin_rules_dir()])
    result = make_result(
        targets=addresses,
        hosts=hosts,
        observations=observations,
        findings=evaluate(hosts, observations, rules),
        rule_sources=("builtin",),
        port_choice=f"-p {PORTS} (given)",
    )
    return assessed(result, load_inventory(INVENTORY))
