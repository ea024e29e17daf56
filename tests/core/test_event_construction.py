"""Events built by the fast ``__init__`` and by ``make`` are the dataclasses' own, frozen and equal."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import datetime, timezone

import pytest

from qunyun.core import events as ev

T = datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc)
ANN = ev.Account(id="telegram:1", name="Ann")
REQUIRED = {"message_id": "7", "author": ANN, "member": ANN, "emoji": "❤", "amount": "1.00"}


def _arguments(cls) -> dict:
    names = {f.name for f in dataclasses.fields(cls)}
    return {"chat": "x:1", "event_id": "1", "at": T, **{k: v for k, v in REQUIRED.items() if k in names}}


@pytest.mark.parametrize("cls", list(ev.EVENT_TYPES.values()), ids=list(ev.EVENT_TYPES))
def test_make_and_the_constructor_build_the_same_frozen_event(cls):
    built, made = cls(**_arguments(cls)), cls.make(**_arguments(cls))
    assert type(built) is type(made) is cls
    assert built == made and hash(built) == hash(made) and repr(built) == repr(made)
    for f in dataclasses.fields(cls):  # defaults applied
        if f.default is not dataclasses.MISSING:
            assert getattr(made, f.name) == f.default
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.chat = "y:2"
    assert dataclasses.replace(made, event_id="2").event_id == "2"
    assert pickle.loads(pickle.dumps(made)) == made


def test_the_constructor_keeps_its_signature_and_errors():
    with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'author'"):
        ev.MessagePosted(chat="x:1", event_id="1", at=T)
    with pytest.raises(TypeError):
        ev.MessagePosted("x:1", "1", T, author=ANN)  # keyword-only, as before
    assert ev.Account("x:2") == ev.Account.make("x:2") == ev.Account(id="x:2", name=None, is_bot=False)


def test_subclasses_still_construct_as_themselves():
    class Special(ev.MessagePosted):  # no slots of its own: has a __dict__, unlike the twin
        pass

    special = Special(chat="x:1", event_id="1", at=T, author=ANN, text="hi")
    assert type(special) is Special and special.text == "hi"
