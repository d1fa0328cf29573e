"""The pipeline's long steps say how far they are, in order, each to its end:
an imported nmap XML read, its rules evaluated, the result assessed; and
hosts alike share the words of their observations."""

from __future__ import annotations

from pathlib import Path

from scanner.cli.options import with_builtin_rules
from scanner.pipeline import scan_nmap_xml
from scanner.rule_engine.loader import load_rules
from tests.scanner.steps import Steps
from tests.support import FIXTURES

DEMO = FIXTURES / "nmap" / "demo-lab.xml"


def test_an_imported_scan_says_how_far_each_long_step_is() -> None:
    dirs = with_builtin_rules(())
    steps = Steps()

    result = scan_nmap_xml(DEMO, load_rules(dirs), [str(d) for d in dirs], progress=steps)

    assert steps.kinds() == [
        "reading nmap XML",
        "evaluating rules",
        "assessing coverage",
        "assessing risk",
    ]
    size = DEMO.stat().st_size
    hosts, findings = len(result.hosts), len(result.findings)
    assert steps.of("reading nmap XML")[-1] == (size, size, "bytes")
    assert steps.of("evaluating rules")[-1] == (hosts, hosts, "hosts")
    assert steps.of("assessing coverage")[-1] == (hosts, hosts, "hosts")
    assert steps.of("assessing risk") == [(findings, findings, "findings")]
    assert findings > 0


def _debian_box(n: int) -> str:
    return (
        f'<host><status state="up"/><address addr="10.0.0.{n}" addrtype="ipv4"/><ports>'
        '<extraports state="closed" count="997"><extrareasons reason="reset" count="997"/>'
        '</extraports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/>'
        '<service name="ssh" product="OpenSSH" version="9.2p1 Debian 2+deb12u3" '
        'extrainfo="protocol 2.0"/></port></ports></host>\n'
    )


def test_hosts_alike_share_the_words_of_their_observations(tmp_path: Path) -> None:
    xml = tmp_path / "scan.xml"
    boxes = "".join(_debian_box(n) for n in (1, 2))
    xml.write_text(
        '<nmaprun><scaninfo type="syn" protocol="tcp" numservices="998" services="1-998"/>'
        f"{boxes}<runstats><finished/></runstats></nmaprun>",
        encoding="utf-8",
    )
    dirs = with_builtin_rules(())

    result = scan_nmap_xml(xml, load_rules(dirs), [str(d) for d in dirs])

    first = {o.key: o for o in result.observations if o.host == "10.0.0.1"}
    second = {o.key: o for o in result.observations if o.host == "10.0.0.2"}
    assert set(first) == set(second)
    assert {"firewall.posture", "host.distribution", "host.distribution_support"} <= set(first)
    for key, mine in first.items():
        theirs = second[key]
        assert (mine.value, mine.evidence) == (theirs.value, theirs.evidence)
        assert mine.value is theirs.value
        assert mine.evidence is theirs.evidence
