"""Facts about e-mail domains that every part of analytics must agree on (pure data, no imports of our own).

One list of free-mail providers serves the lead scoring's intelligent fields, the CRM import, the
relationship queries and the stored answers: a domain one of them treats as a person's provider and another as
a company would give the same tenant contradicting answers.
"""

from __future__ import annotations

# Widely used free-mail providers: an address at one belongs to a person, not (yet) to a company, and the
# people sharing such a domain have nothing in common.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "ymail.com", "hotmail.com",
    "hotmail.co.uk", "hotmail.fr", "outlook.com", "live.com", "msn.com", "aol.com", "icloud.com", "me.com",
    "mac.com", "gmx.de", "gmx.net", "gmx.com", "web.de", "mail.com", "protonmail.com", "proton.me", "yandex.ru",
    "yandex.com", "mail.ru", "qq.com", "163.com", "126.com", "sina.com", "zoho.com", "orange.fr", "free.fr",
    "laposte.net", "libero.it", "t-online.de", "rediffmail.com", "naver.com", "fastmail.com", "tutanota.com",
})


def is_free_mail_domain(domain: str) -> bool:
    """A free-mail provider's domain, however it was typed (``Gmail.com``, ``@gmail.com``)."""
    return domain.strip().lower().removeprefix("@") in FREE_MAIL_DOMAINS
