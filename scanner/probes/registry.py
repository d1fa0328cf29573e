"""Every probe, by name: imported by the runner when a scan runs probes, and
only then (each module brings its data store's driver)."""

from __future__ import annotations

from scanner.probes import tls
from scanner.probes.context import ProbeSpec
from scanner.probes.datastores import (
    elasticsearch,
    memcached,
    mongodb,
    mysql,
    postgres,
    redis,
)
from scanner.probes.web import http

REGISTRY: dict[str, ProbeSpec] = {
    module.SPEC.name: module.SPEC
    for module in (postgres, mysql, redis, memcached, mongodb, elasticsearch, http, tls)
}
