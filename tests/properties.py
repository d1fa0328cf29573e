"""What the property-based tests of every loader share: one bound on how long
an example may take, and hostile JSON values.

The bound is a bound, not a speed test: the box is a slow, shared two-core
one. There is no example database: it would litter the checkout.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def bounded(examples: int = 150, seconds: float = 5.0) -> settings:
    """Hypothesis settings: `examples` examples, each within `seconds`."""
    return settings(
        max_examples=examples,
        deadline=timedelta(seconds=seconds),
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


PROPERTY = bounded()


def json_values(
    leaves: int = 20, key_size: int = 8, text_size: int = 20
) -> st.SearchStrategy[object]:
    """Any JSON value and then some: integers past 64 bits, NaN and the
    infinities, lone surrogates, nested lists and objects."""
    leaf = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=text_size),
        st.text(st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010), max_size=3),
    )
    return st.recursive(
        leaf,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=key_size), children, max_size=4)
        ),
        max_leaves=leaves,
    )
