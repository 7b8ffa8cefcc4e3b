"""The tenant's people and customers: users and teams, accounts, contacts.

Everything is drawn from one ``random.Random`` in a fixed order, so a seed fixes the whole directory.
"""

from __future__ import annotations

import math
import random

from graph_sync.emulator.generator import vocab
from graph_sync.emulator.generator.ids import IdFactory
from graph_sync.emulator.generator.model import Account, Contact, Team, Trajectory, User
from graph_sync.emulator.generator.sizes import SizeProfile

TENANT_NAME = "Fabrikam Sales"
TENANT_DOMAIN = "fabrikam.com"
INITIAL_DOMAIN = "fabrikamsales.onmicrosoft.com"
ALL_SALES_DL = f"sales-team@{TENANT_DOMAIN}"
TEAM_NAMES = ("East", "West", "Central", "APAC", "EMEA", "LATAM", "Nordics", "DACH")

# Account trajectory mix: improving, steady, declining, dormant (churned).
ACCOUNT_TRAJECTORY_WEIGHTS: tuple[tuple[Trajectory, float], ...] = (
    ("improving", 0.25), ("steady", 0.45), ("declining", 0.25), ("dormant", 0.05),
)
FREE_MAIL_SHARE = 0.08
CHINESE_ACCOUNT_SHARE = 0.08


class _NamePool:
    """Unique person names and local parts, English mostly, Chinese sometimes."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def person(self, chinese: bool) -> tuple[str, str]:
        """(display name, local part ``first.last``), unique across the pool."""
        for attempt in range(1000):
            if chinese:
                display, given, family = self._rng.choice(vocab.CHINESE_NAMES)
                local = f"{given}.{family}"
            else:
                given, family = self._rng.choice(vocab.FIRST_NAMES), self._rng.choice(vocab.LAST_NAMES)
                display, local = f"{given} {family}", f"{given}.{family}".lower()
            if attempt >= 5:  # common names collide; add a digit the way real directories do
                local = f"{local}{attempt}"
            if local not in self._used:
                self._used.add(local)
                return display, local
        raise RuntimeError("name pool exhausted")  # unreachable: the digit suffix is unique


def _user(ids: IdFactory, rng: random.Random, names: _NamePool, *, role: str, title: str, dept: str,
          manager_id: str | None, team: int | None, enabled: bool = True) -> User:
    display, local = names.person(chinese=rng.random() < 0.08)
    tz, offset = rng.choice(vocab.TIME_ZONES)
    return User(
        id=ids.guid(), display_name=display, mail=f"{local}@{TENANT_DOMAIN}", role=role,  # type: ignore[arg-type]
        job_title=title, department=dept, purpose="user", enabled=enabled, time_zone=tz,
        tz_offset_hours=offset, manager_id=manager_id, team=team,
        reply_median_minutes=round(math.exp(rng.uniform(math.log(20), math.log(240))), 1),
    )


def build_users(ids: IdFactory, rng: random.Random, size: SizeProfile) -> tuple[list[User], list[Team]]:
    """The VP of sales, one manager and its reps per team, former staff, shared mailboxes and rooms."""
    names = _NamePool(rng)
    vp = _user(ids, rng, names, role="vp", title="VP of Sales", dept="Sales", manager_id=None, team=None)
    users, teams = [vp], []
    for t in range(size.teams):
        name = TEAM_NAMES[t] if t < len(TEAM_NAMES) else f"Region {t + 1:02d}"
        manager = _user(ids, rng, names, role="manager", title=f"Sales Manager, {name}", dept="Sales",
                        manager_id=vp.id, team=t)
        reps = [_user(ids, rng, names, role="rep", title=rng.choice(("Account Executive", "Account Manager",
                                                                        "Senior Account Executive")),
                      dept="Sales", manager_id=manager.id, team=t) for _ in range(size.reps_per_team)]
        users += [manager, *reps]
        dl = f"sales-{name.lower().replace(' ', '')}@{TENANT_DOMAIN}"
        teams.append(Team(index=t, name=name, manager_id=manager.id, rep_ids=tuple(r.id for r in reps),
                          dl_address=dl))
    for _ in range(size.disabled_users):
        users.append(_user(ids, rng, names, role="former", title="Account Executive", dept="Sales",
                           manager_id=None, team=None, enabled=False))
    for local in ("info", "support", "billing", "partners")[: size.shared_mailboxes]:
        # Exchange creates shared mailboxes with a disabled sign-in account, so accountEnabled is false.
        users.append(User(id=ids.guid(), display_name=f"Fabrikam {local.title()}", mail=f"{local}@{TENANT_DOMAIN}",
                          role="shared", job_title="", department="Shared", purpose="shared", enabled=False,
                          time_zone="UTC", tz_offset_hours=0, manager_id=None, team=None,
                          reply_median_minutes=0.0))
    for name in vocab.ROOM_NAMES[: size.rooms]:
        users.append(User(id=ids.guid(), display_name=f"Room {name}", mail=f"room-{name.lower()}@{TENANT_DOMAIN}",
                          role="room", job_title="", department="Facilities", purpose="room", enabled=True,
                          time_zone="UTC", tz_offset_hours=0, manager_id=None, team=None,
                          reply_median_minutes=0.0))
    return users, teams


def _weighted(rng: random.Random, weights: tuple[tuple[Trajectory, float], ...]) -> Trajectory:
    x, acc = rng.random(), 0.0
    for value, w in weights:
        acc += w
        if x < acc:
            return value
    return weights[-1][0]


def build_accounts(ids: IdFactory, rng: random.Random, size: SizeProfile, teams: list[Team]) -> list[Account]:
    """Customer accounts, each owned by a rep, with a unique business domain and a planted trajectory."""
    owners = [rep for team in teams for rep in team.rep_ids]
    used: set[str] = set()
    accounts = []
    for i in range(size.accounts):
        chinese = rng.random() < CHINESE_ACCOUNT_SHARE
        if chinese:
            name, stem = rng.choice(vocab.CHINESE_COMPANIES)
            tld = ".cn"
        else:
            word, suffix = rng.choice(vocab.COMPANY_WORDS), rng.choice(vocab.COMPANY_SUFFIXES)
            name, stem = f"{word} {suffix}", f"{word}{suffix}".lower()
            tld = rng.choice((".com", ".com", ".com", ".io", ".co.uk", ".de", ".fr"))
        n = 2
        base_name, base_stem = name, stem
        while stem + tld in used:  # duplicate company names get a number, as real ones do
            name, stem = f"{base_name} {n}", f"{base_stem}{n}"
            n += 1
        used.add(stem + tld)
        domain = stem + tld
        accounts.append(Account(
            id=f"ACC-{i + 1:05d}", name=name, domain=domain, industry=rng.choice(vocab.INDUSTRIES),
            country="CN" if chinese else rng.choice(vocab.COUNTRIES), size_bucket=rng.choice(vocab.COMPANY_SIZES),
            owner_id=owners[i % len(owners)], trajectory=_weighted(rng, ACCOUNT_TRAJECTORY_WEIGHTS),
            chinese=chinese, list_address=f"{rng.choice(('procurement', 'it-team', 'project'))}@{domain}",
        ))
    return accounts


def build_contacts(rng: random.Random, size: SizeProfile, accounts: list[Account]) -> list[Contact]:
    """Contacts spread over accounts (at least two each, a long tail of bigger ones); a few use free mail."""
    counts = [2] * len(accounts)
    for _ in range(size.contacts - 2 * len(accounts)):
        # Preferential attachment gives a realistic skew: big customers have many contacts.
        counts[rng.choices(range(len(accounts)), weights=counts)[0]] += 1
    names = _NamePool(rng)
    contacts = []
    for account, count in zip(accounts, counts, strict=True):
        for _ in range(count):
            chinese = account.chinese or rng.random() < 0.04
            display, local = names.person(chinese)
            free = rng.random() < FREE_MAIL_SHARE
            if free:
                domains = ("qq.com", "163.com") if chinese else vocab.FREE_MAIL_DOMAINS
                email = f"{local.replace('.', '')}{rng.randint(1, 9999)}@{rng.choice(domains)}"
            else:
                email = f"{local}@{account.domain}"
            contacts.append(Contact(
                email=email, name=display, account_id=account.id, title=rng.choice(vocab.CONTACT_TITLES),
                free_mail=free, chinese=chinese,
                reply_median_minutes=round(math.exp(rng.uniform(math.log(45), math.log(1440))), 1),
                reply_rate=round(rng.uniform(0.45, 0.85), 3),
            ))
    return contacts
