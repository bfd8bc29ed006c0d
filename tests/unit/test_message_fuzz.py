"""Every message between nodes, fed arbitrary JSON: it is either a valid message or one
``ValidationError`` — never another exception, never a value the schema does not allow
(R7, R8: a hostile peer's body reaches these models first)."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from jukinet.network import messages

MODELS = sorted(
    (
        obj
        for _, obj in inspect.getmembers(messages, inspect.isclass)
        if issubclass(obj, messages.Message) and obj is not messages.Message
    ),
    key=lambda cls: cls.__name__,
)

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(["12345678903", "１２３４５６７８９０３", "2026-12-01", "male", "131016"])
)
json_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)


def _shaped(model: type[messages.Message]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the model's own field names (so validation goes past the first key)."""
    names = list(model.model_fields)
    return (
        st.dictionaries(st.sampled_from(names), json_values, max_size=len(names))
        if names
        else st.just({})
    )


def test_every_message_model_is_fuzzed() -> None:
    assert len(MODELS) >= 20, [m.__name__ for m in MODELS]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_arbitrary_json_is_a_message_or_one_validation_error(
    model: type[messages.Message], data: st.DataObject
) -> None:
    value = data.draw(_shaped(model) | json_values)
    text = json.dumps(value)
    try:
        parsed = model.model_validate_json(text)
    except ValidationError:
        return
    # What was accepted serialises and reads back as the same message.
    assert model.model_validate_json(parsed.model_dump_json()) == parsed
