"""Hypothesis strategies for JSON values shared by the patch tests."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# The test machine is shared; slow data generation is load, not a bug in the strategy.
patch_settings = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

keys = st.sampled_from(["a", "b", "c", "d"])
scalars = st.one_of(st.integers(-3, 3), st.sampled_from(["", "x", "y"]), st.booleans())

# Objects without nulls: a merge patch cannot set a value to null inside an object.
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(keys, children, max_size=3),
    ),
    max_leaves=8,
)
json_objects = st.dictionaries(keys, json_values, max_size=4)
