"""An msgraph-sdk ``GraphServiceClient`` wired to an emulator base URL, as the sync worker builds it."""

from __future__ import annotations

from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient

from graph_sync.emulator import EmulatorCredential, EmulatorState


def sdk_client(state: EmulatorState, base_url: str) -> tuple[GraphServiceClient, EmulatorCredential]:
    """A client whose credential fetches tokens from the emulator's token endpoint over the socket."""
    app = state.register_app()
    credential = EmulatorCredential(f"{base_url}/{state.tenant_id}/oauth2/v2.0/token", app.client_id,
                                    app.client_secret)
    auth = AzureIdentityAuthenticationProvider(credential, scopes=["https://graph.microsoft.com/.default"])
    adapter = GraphRequestAdapter(auth)
    adapter.base_url = base_url + "/v1.0"
    return GraphServiceClient(request_adapter=adapter), credential
