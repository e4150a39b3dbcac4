import pytest

from .helpers import amendment_session, priced_session


@pytest.fixture
def make_session(db):
    return priced_session


@pytest.fixture
def make_amendment(db):
    return amendment_session
