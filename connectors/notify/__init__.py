"""Notification connectors (planned: WeCom, DingTalk, Feishu, outbound webhooks)."""
