"""Inbound and outbound authentication for the Bot Framework channel.

Production uses the public-cloud endpoints; tests point the same parameters at a loopback token issuer (the
parameterized authentication of botframework-connector reads the OpenID metadata URL and issuer we give it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botframework.connector.auth import (
    AuthenticationConstants,
    BotFrameworkAuthentication,
    BotFrameworkAuthenticationFactory,
    PasswordServiceClientCredentialFactory,
)
from botframework.connector.auth.managedidentity_service_client_credential_factory import (
    ManagedIdentityServiceClientCredentialsFactory,
)

from analytics.errors import ConfigError
from analytics.settings import Settings

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass(frozen=True)
class AuthEndpoints:
    """Where tokens come from (inbound) and where the bot gets its own tokens (outbound)."""

    channel_token_issuer: str
    channel_openid_metadata_url: str
    emulator_openid_metadata_url: str
    login_url: str
    oauth_scope: str
    oauth_url: str

    @classmethod
    def public_cloud(cls, tenant_id: str) -> AuthEndpoints:
        """Azure public cloud, SingleTenant: the bot's own tokens come from its registration's tenant."""
        return cls(
            channel_token_issuer=AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER,
            channel_openid_metadata_url=AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
            emulator_openid_metadata_url=AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL,
            login_url=AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX + (tenant_id or "botframework.com"),
            oauth_scope=AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE,
            oauth_url=AuthenticationConstants.OAUTH_URL,
        )


def credentials_for(settings: Settings, *, dev: bool) -> Any:
    """The outbound credential factory: none in dev mode, else app secret (SingleTenant) or managed identity."""
    if dev:
        return PasswordServiceClientCredentialFactory()  # no app id: authentication disabled
    if not settings.bot_app_id:
        raise ConfigError("RAPPORT_BOT_APP_ID", "the bot's Entra app id (or run `rapport serve --dev`)", "''")
    if settings.bot_auth == "managed_identity":
        return ManagedIdentityServiceClientCredentialsFactory(settings.bot_app_id)
    if not settings.bot_app_password or not settings.bot_app_tenant_id:
        raise ConfigError("RAPPORT_BOT_APP_PASSWORD / RAPPORT_BOT_APP_TENANT_ID",
                          "the client secret and tenant of a SingleTenant registration", "(missing)")
    return PasswordServiceClientCredentialFactory(settings.bot_app_id, settings.bot_app_password,
                                                  settings.bot_app_tenant_id)


def build_authentication(endpoints: AuthEndpoints, credential_factory: Any) -> BotFrameworkAuthentication:
    """Parameterized Bot Framework authentication (signature, endorsement, issuer, audience, serviceurl)."""
    return BotFrameworkAuthenticationFactory.create(
        channel_service="",
        validate_authority=True,
        to_channel_from_bot_login_url=endpoints.login_url,
        to_channel_from_bot_oauth_scope=endpoints.oauth_scope,
        to_bot_from_channel_token_issuer=endpoints.channel_token_issuer,
        oauth_url=endpoints.oauth_url,
        to_bot_from_channel_open_id_metadata_url=endpoints.channel_openid_metadata_url,
        to_bot_from_emulator_open_id_metadata_url=endpoints.emulator_openid_metadata_url,
        caller_id=None,
        credential_factory=credential_factory,
    )
