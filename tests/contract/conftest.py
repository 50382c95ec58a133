"""Contract-test fixtures: one session-wide log of checked responses, shown in the summary.

The summary line (``contract: checked N endpoint/response pairs ...``) and the list of
endpoints the specs do not cover are written by ``pytest_terminal_summary``, so a plain
``make test`` run shows them without ``-s``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.contract.contract_client import ContractClient, ContractLog

CONTRACT_LOG = pytest.StashKey[ContractLog]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[CONTRACT_LOG] = ContractLog()


@pytest.fixture(scope="session")
def contract_log(request: pytest.FixtureRequest) -> ContractLog:
    """The session's log of validated endpoint/response pairs."""
    return request.config.stash[CONTRACT_LOG]


@pytest.fixture(scope="module")
def clients(sandbox_factory: Any, contract_log: ContractLog) -> Iterator[dict[str, ContractClient]]:
    """One logging client per flavor over the default sandboxes (300 issues, seed 1)."""
    made = {
        flavor: ContractClient(sandbox_factory(flavor=flavor).base_url, flavor, contract_log)
        for flavor in ("cloud", "server")
    }
    yield made
    for client in made.values():
        client.close()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    log = config.stash.get(CONTRACT_LOG, None)
    if log is None or not log.checks:
        return
    terminalreporter.write_sep("=", "JIRA OpenAPI contract")
    for line in log.report_lines():
        terminalreporter.write_line(line)
