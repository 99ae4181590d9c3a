"""Instagram Messaging through the Messenger Platform (a Page linked to an IG account).

Webhooks have the Messenger shape with `object: "instagram"`; everything is shared with
`connectors.messenger`, only the config and the sending node differ.
"""

from __future__ import annotations

from typing import Any

from connectors._common import RequiredStr, compact
from connectors.base import ChannelType
from connectors.messenger import MessengerConfig, MessengerPlatformConnector


class InstagramConfig(MessengerConfig):
    instagramAccountId: RequiredStr  # noqa: N815 - the API's camelCase keys


class InstagramConnector(MessengerPlatformConnector):
    """Instagram Messaging: webhooks with `object: "instagram"`.

    Sends go to `{base}/me/messages` with the Page access token: `me` resolves to the
    Page the token belongs to, which is how the Messenger Platform's Instagram Send API
    is addressed (`/{page-id}/messages` is equivalent). `/{instagramAccountId}/messages`
    would need an Instagram-Login user token instead, which this channel does not hold.
    """

    type = ChannelType.INSTAGRAM
    config_model = InstagramConfig
    webhook_object = "instagram"
    platform = "Instagram"

    def _send_node(self, cfg: MessengerConfig) -> str:
        return "me"

    def _describe(self, cfg: MessengerConfig, node: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name, details = super()._describe(cfg, node)
        return name, compact(**details, instagramAccountId=getattr(cfg, "instagramAccountId", None))
