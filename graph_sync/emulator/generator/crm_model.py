"""The planted outcome models of leads and opportunities: logistic, with published coefficients.

``P(positive) = sigmoid(intercept + Σ coefficient × feature)``. Features named ``*_is_*`` or ``has_*`` are 0/1;
the others are numbers defined in ``FEATURE_DEFINITIONS``. Country, created weekday and the lead's company
name are drawn independently of the outcome (coefficient 0) on purpose: a scorer should not lean on them.
"""

from __future__ import annotations

import math

LEAD_INTERCEPT = -1.8
LEAD_COEFFICIENTS: dict[str, float] = {
    "source_is_referral": 1.2,
    "source_is_partner": 0.8,
    "source_is_event": 0.4,
    "source_is_paid_ads": -0.3,
    "source_is_cold_outreach": -0.9,
    "email_is_free_mail": -1.0,
    "title_is_senior": 0.7,
    "company_size_index": 0.25,
    "has_budget": 0.6,
    "industry_is_software": 0.4,
    "lead_reply_count": 0.5,
    "log1p_lead_response_hours": -0.3,
}
OPPORTUNITY_INTERCEPT = -1.6
OPPORTUNITY_COEFFICIENTS: dict[str, float] = {
    "log_amount_over_30k": -0.5,
    "product_is_addon": 0.6,
    "product_is_services": 0.2,
    "source_is_existing_customer": 0.5,
    "source_is_referral": 0.8,
    "source_is_event": 0.2,
    "source_is_cold_outreach": -0.7,
    "primary_contact_reply_rate": 3.0,
    "log1p_primary_contact_response_hours": -0.4,
    "account_is_improving": 0.8,
    "account_is_declining": -1.0,
    "account_is_dormant": -1.5,
}
FEATURE_DEFINITIONS: dict[str, str] = {
    "source_is_<s>": "1 if the `source` column equals <s> (baseline: web)",
    "email_is_free_mail": "1 if the contact email's domain is a free-mail provider (gmail.com, qq.com, …)",
    "title_is_senior": "1 if `title` starts with CEO, CTO, CFO, VP, Director or Head",
    "company_size_index": "position of `company_size` in 1-10, 11-50, 51-200, 201-1000, 1001-5000, 5000+ (0–5)",
    "has_budget": "1 if `budget` is filled",
    "industry_is_software": "1 if `industry` is software",
    "lead_reply_count": "messages the lead sent to its owner before the lead closed (or now), capped at 4",
    "log1p_lead_response_hours": "ln(1 + median hours the lead took to answer the owner), 0 if it never answered",
    "log_amount_over_30k": "ln(amount / 30000)",
    "product_is_<p>": "1 if `product` is Add-on / Services (baseline: Platform)",
    "primary_contact_reply_rate": "planted share of the owner's messages the primary contact answers (before "
                                  "any trajectory change); analytics measure it as the contact's response rate",
    "log1p_primary_contact_response_hours": "ln(1 + planted median hours the primary contact takes to answer "
                                            "the owner)",
    "account_is_<t>": "1 if the account's planted trajectory is <t> (baseline: steady)",
}
LEAD_REPLY_CAP = 4


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def probability(intercept: float, coefficients: dict[str, float], features: dict[str, float]) -> float:
    """The planted probability of a positive outcome for ``features`` (missing features count as 0)."""
    return sigmoid(intercept + sum(w * features.get(name, 0.0) for name, w in coefficients.items()))
