"""Reply strings in English and Chinese, chosen by the activity's locale."""

from __future__ import annotations

from bot.conversation.model import Lang

MESSAGES: dict[str, dict[str, str]] = {
    "unknown_user": {
        "en": "Sorry, I don't know you yet: your account isn't among the users Rapport syncs for this "
              "organisation. Ask your Rapport admin to add your mailbox.",
        "zh": "抱歉，我还不认识您：您的帐户不在 Rapport 为本组织同步的用户中。请联系 Rapport 管理员添加您的邮箱。",
    },
    "unknown_tenant": {
        "en": "Sorry, Rapport isn't set up for your organisation.",
        "zh": "抱歉，您的组织尚未启用 Rapport。",
    },
    "rate_limited": {
        "en": "You're sending messages faster than I can answer. Please wait {seconds} seconds and try again.",
        "zh": "您发送消息的速度太快了，请等待 {seconds} 秒后再试。",
    },
    "error": {
        "en": "Sorry, something went wrong on my side. Please try again in a moment.",
        "zh": "抱歉，我这边出了点问题，请稍后再试。",
    },
    "help_title": {"en": "Here is what I can do", "zh": "我可以帮您做这些"},
    "help_intro": {
        "en": "Ask in your own words, in English or Chinese. For example:",
        "zh": "用中文或英文提问都可以，例如：",
    },
    "help_none": {
        "en": "No analytics commands are available yet: this Rapport deployment has no analytics configured.",
        "zh": "暂无可用的分析命令：此 Rapport 部署尚未配置分析功能。",
    },
    "action_rejected": {
        "en": "This button isn't meant for you, or the card was changed. Nothing was done.",
        "zh": "此按钮不属于您，或卡片已被修改。未执行任何操作。",
    },
    "action_unknown": {
        "en": "This card is out of date. Ask me again to get a fresh one.",
        "zh": "此卡片已过期，请重新向我提问以获取新卡片。",
    },
}


def lang_of(locale: str | None) -> Lang:
    """``zh`` for any Chinese locale (zh, zh-CN, zh-TW, …), else ``en``."""
    return "zh" if locale and locale.strip().lower().startswith("zh") else "en"


def t(key: str, lang: Lang, **values: object) -> str:
    """The message ``key`` in ``lang``, formatted with ``values``."""
    entry = MESSAGES[key]
    return entry.get(lang, entry["en"]).format(**values)
