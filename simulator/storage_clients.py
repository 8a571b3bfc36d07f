"""Clients for the storage account, opened the one way every store opens them.

A connection string (Azurite, account keys) when one is configured; otherwise the account's endpoint reached
with Entra ID through DefaultAzureCredential (the Function App's managed identity on Azure, a developer login
locally). The credential is handed back with the client because it holds its own HTTP session to close.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential
    from azure.data.tables.aio import TableClient
    from azure.storage.blob.aio import ContainerClient


def table_client(
    table: str, *, connection_string: str | None, account_url: str | None, **options: Any
) -> tuple[TableClient, AsyncTokenCredential | None]:
    """A client for `table`, and the credential to close with it (None with a connection string)."""
    from azure.data.tables.aio import TableClient

    if connection_string:
        return TableClient.from_connection_string(connection_string, table, **options), None
    credential = _entra_credential(account_url, f"table {table!r}")
    return TableClient(account_url, table, credential=credential, **options), credential


def container_client(
    container: str, *, connection_string: str | None, account_url: str | None, **options: Any
) -> tuple[ContainerClient, AsyncTokenCredential | None]:
    """A client for blob `container`, and the credential to close with it (None with a connection string)."""
    from azure.storage.blob.aio import ContainerClient

    if connection_string:
        return ContainerClient.from_connection_string(connection_string, container, **options), None
    credential = _entra_credential(account_url, f"blob container {container!r}")
    return ContainerClient(account_url, container, credential=credential, **options), credential


def _entra_credential(account_url: str | None, what: str) -> AsyncTokenCredential:
    if not account_url:
        raise ValueError(f"the {what} needs a storage connection string or an account URL")
    from azure.identity.aio import DefaultAzureCredential

    return DefaultAzureCredential()
