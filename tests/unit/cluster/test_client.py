"""The cluster client's checks, without a cluster: addresses, worker results, versions."""

from __future__ import annotations

import pytest

from autograder.cluster.client import ClusterError, _validated_result, check_address
from autograder.cluster.identity import at_least, difference, lowest
from autograder.cluster.tasks import resource_name
from autograder.grade.outcome import SubmissionResult, TestOutcome
from autograder.run.isolation import Level


@pytest.mark.parametrize(
    "address", ["tcp://127.0.0.1:8786", "tcp://127.3.4.5:1", "tcp://localhost:8786", "[::1]:9"]
)
def test_loopback_needs_no_tls(address):
    check_address(address, tls=False)


@pytest.mark.parametrize(
    "address", ["tcp://192.0.2.7:8786", "10.0.0.1:8786", "tcp://[2001:db8::1]:1"]
)
def test_off_loopback_without_tls_is_refused(address):
    with pytest.raises(ClusterError, match="not on this machine"):
        check_address(address, tls=False)


def test_tls_addresses():
    check_address("tls://192.0.2.7:8786", tls=True)
    with pytest.raises(ClusterError, match="must be tls://"):
        check_address("tcp://127.0.0.1:8786", tls=True)
    with pytest.raises(ClusterError, match="needs --tls-ca-file"):
        check_address("tls://127.0.0.1:8786", tls=False)
    with pytest.raises(ClusterError, match="not a Dask address"):
        check_address("http://127.0.0.1:8786", tls=False)


def _row(**change):
    test = TestOutcome("sigmoid", "sigmoid: values", 1.0, "visible", True, "Passed.")
    r = SubmissionResult(
        "ann", "/tmp/x/submission.ipynb", "graded", tests=[test], isolation="full", seconds=1.5
    )
    data = r.to_json()
    data.update(change)
    return data


def test_a_well_formed_result_is_taken():
    r = _validated_result(_row(), "ann", False, Level.UID)
    assert r.tests[0].passed is True and r.isolation == "full"


@pytest.mark.parametrize(
    "change",
    [
        {"student": "bob"},  # another student's row
        {"status": "excellent"},
        {"unsafe": True},  # graded without a sandbox
        {"isolation": "none"},  # below --min-isolation
        {"manual": {"q1": 5.0}},  # manual grades come from the client only
        {"seconds": "1"},
        {"reason": None},
        {"extra": 1},  # a field the client does not know
        {"notebook_errors": [1]},
        {"tests": [{"item": "sigmoid"}]},
        {"tests": [dict(_row()["tests"][0], passed=1)]},  # 1 is not True
        {"tests": [dict(_row()["tests"][0], weight=True)]},
    ],
)
def test_a_malformed_result_is_refused(change):
    with pytest.raises(ValueError):
        _validated_result(_row(**change), "ann", False, Level.UID)


def test_versions_and_levels():
    mine = {"engine": "a", "assignment": "b", "python": "3.11.7"}
    assert difference(mine, dict(mine)) == ""
    assert difference(mine, {**mine, "assignment": "c"}) == (
        "its assignment version is c, the client's is b"
    )
    assert at_least("full", Level.ROOTLESS) and not at_least("uid", Level.ROOTLESS)
    assert not at_least("bogus", Level.UID)
    assert lowest(["full", "uid", "rootless"]) is Level.UID
    # A worker offers one resource per level it satisfies; a task asks for the minimum's.
    assert resource_name(mine, Level.UID) != resource_name(mine, Level.FULL)
    assert resource_name(mine, Level.UID) != resource_name({**mine, "engine": "z"}, Level.UID)
