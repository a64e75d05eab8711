"""The contract server, verifier and tool scopes, named by import strings in the test settings."""

from __future__ import annotations

from tests.contract.spec import ContractSettings

contract = ContractSettings()
server = contract.server
verifier = contract.verifier
tool_scopes = contract.tool_scopes
authorization_server_metadata = contract.authorization_server_metadata


def server_factory() -> object:
    """A factory form of ``SERVER`` (called when the endpoint starts)."""
    return ContractSettings().server
