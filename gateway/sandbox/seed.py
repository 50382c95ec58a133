"""Deterministic seeded data: users, projects, sprints and the searchable core of every issue.

Everything here is a pure function of (site, seed, issue count). Heavy per-issue parts
(description, comments, changelog, attachments) are generated lazily in `seed_details.py`.
Building 100,000 issues takes a few seconds: one `random.Random` stream, no per-issue objects
beyond the `SandboxIssue` itself.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from gateway.sandbox.catalog import (
    CF_RANK,
    CF_REVIEWERS,
    CF_SPRINT,
    CF_STORY_POINTS,
    CF_TARGET,
    CF_TEAM,
    STATUS_BY_NAME,
    TEAMS,
)
from gateway.sandbox.model import (
    SandboxComponent,
    SandboxIssue,
    SandboxLink,
    SandboxProject,
    SandboxUser,
    SandboxVersion,
)

# The data's "present": fixed so that the same seed gives the same data on every day.
ANCHOR = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)
SPAN = timedelta(days=730)
SPRINT_DAYS = 14

# name, display name, admin, can_edit, active, email hidden, project keys ("*" = all)
_SITE_USERS: dict[str, list[tuple[str, str, bool, bool, bool, bool, str]]] = {
    "a": [
        ("alice", "Alice Anderson", True, True, True, False, "*"),
        ("bob", "Bob Brown", False, True, True, False, "ALPHA,BETA"),
        ("dave", "Dave Davis", False, True, True, False, "ALPHA,GAMMA,DELTA"),
        ("erin", "Erin Evans", False, False, True, False, "*"),
        ("frank", "Frank Fischer", False, True, True, False, "BETA,GAMMA"),
        ("grace", "Grace Green", False, True, True, False, "*"),
        ("heidi", "Heidi Hall", False, True, True, False, "DELTA"),
        ("ivan", "Иван Петров", False, True, True, False, "ALPHA,DELTA"),
        ("judy", "Judy Jones", False, True, True, False, "GAMMA,DELTA"),
        ("mallory", "Mallory Moore", False, True, False, False, "ALPHA,BETA"),
        ("olivia", "Olivia Ortiz", False, True, True, True, "ALPHA,BETA,GAMMA"),
        ("trent", "Trent Turner", False, True, True, False, "BETA,DELTA"),
    ],
    "b": [
        ("carol", "Carol Clark", True, True, True, False, "*"),
        ("peggy", "Peggy Parker", False, True, True, False, "OMEGA"),
        ("victor", "Victor Vance", False, True, True, True, "SIGMA"),
        ("walter", "Walter White", False, True, True, False, "OMEGA,SIGMA"),
    ],
}

# key, name, weight, components
_SITE_PROJECTS: dict[str, list[tuple[str, str, int, tuple[str, ...]]]] = {
    "a": [
        ("ALPHA", "Alpha Platform", 35, ("API", "Backend", "Auth", "Infrastructure")),
        ("BETA", "Beta Payments", 25, ("Billing", "Checkout", "Ledger")),
        ("GAMMA", "Gamma Mobile", 25, ("iOS", "Android", "Design")),
        ("DELTA", "Delta Data", 15, ("Pipelines", "Warehouse", "Reporting")),
    ],
    "b": [
        ("OMEGA", "Omega Operations", 60, ("Support", "Runbooks")),
        ("SIGMA", "Sigma Research", 40, ("Experiments", "Papers")),
    ],
}

LABELS = (
    "backend",
    "frontend",
    "performance",
    "security",
    "tech-debt",
    "customer",
    "regression",
    "ux",
    "documentation",
    "flaky-test",
    "release-blocker",
    "good-first-issue",
    "миграция",
)
_VERBS = (
    "Fix",
    "Add",
    "Improve",
    "Refactor",
    "Investigate",
    "Remove",
    "Document",
    "Migrate",
    "Speed up",
    "Support",
    "Validate",
    "Cache",
    "Retry",
    "Audit",
)
_OBJECTS = (
    "login flow",
    "invoice export",
    "search results page",
    "webhook delivery",
    "rate limiter",
    "user avatar upload",
    "CSV import",
    "billing report",
    "push notifications",
    "dashboard widgets",
    "API pagination",
    "session timeout",
    "audit log",
    "dark mode",
    "password reset",
    "sprint board",
    "PDF rendering",
    "email digests",
    "SSO with SAML",
    "data retention job",
    "offline mode",
    "currency rounding",
    "GraphQL schema",
    "retries",
)
_CONTEXTS = (
    "on Safari",
    "for large tenants",
    "after upgrade",
    "in the mobile app",
    "for admins",
    "under load",
    "in EU region",
    "when the token expires",
    "with Cyrillic names",
    "",
    "",
    "",
    "",
)
_RU_SUMMARIES = (
    "Ошибка при сохранении профиля",
    "Медленная загрузка отчёта",
    "Добавить экспорт в Excel",
    "Неверный перевод на странице оплаты",
)


@dataclass(slots=True)
class SandboxSprint:
    id: int
    name: str
    state: str  # closed | active | future
    board_id: int
    start: datetime
    end: datetime
    complete: datetime | None
    goal: str


@dataclass(slots=True)
class Dataset:
    """Everything seeded for one site: the store wraps and mutates it."""

    site: str
    seed: int
    users: dict[str, SandboxUser]
    projects: dict[str, SandboxProject]
    sprints: dict[int, SandboxSprint]
    issues: list[SandboxIssue]
    links: dict[str, list[SandboxLink]] = field(default_factory=dict)


def account_id(site: str, name: str) -> str:
    """A Cloud-like 24-hex-digit accountId, stable per (site, name)."""
    return hashlib.sha256(f"jira-sandbox:{site}:{name}".encode()).hexdigest()[:24]


def build_users(site: str) -> dict[str, SandboxUser]:
    projects = [p[0] for p in _SITE_PROJECTS[site]]
    users: dict[str, SandboxUser] = {}
    base = 10100 if site == "a" else 10500
    for n, (name, display, admin, can_edit, active, hidden, keys) in enumerate(_SITE_USERS[site]):
        uid = account_id(site, name)
        allowed = frozenset(projects if keys == "*" else keys.split(","))
        users[uid] = SandboxUser(
            id=uid,
            name=name,
            key=f"JIRAUSER{base + n}",
            display_name=display,
            email=f"{name}@example.com",
            active=active,
            email_hidden=hidden,
            admin=admin,
            can_edit=can_edit,
            projects=allowed,
            timezone="Europe/Moscow" if name == "ivan" else "Europe/Berlin",
        )
    return users


def build_projects(site: str, users: dict[str, SandboxUser]) -> dict[str, SandboxProject]:
    out: dict[str, SandboxProject] = {}
    by_name = {u.name: u.id for u in users.values()}
    leads = ["alice", "bob", "dave", "judy"] if site == "a" else ["carol", "walter"]
    comp_id, version_id = 10000, 10000
    for n, (key, name, _weight, components) in enumerate(_SITE_PROJECTS[site]):
        comps = []
        for comp in components:
            comps.append(SandboxComponent(comp_id, comp, f"{comp} work in {name}"))
            comp_id += 1
        versions = []
        for v in range(1, 6):
            release = (ANCHOR - SPAN + timedelta(days=150 * v)).date()
            versions.append(SandboxVersion(version_id, f"{v}.0", release <= ANCHOR.date(), release))
            version_id += 1
        out[key] = SandboxProject(
            id=10000 + n,
            key=key,
            name=name,
            lead=by_name[leads[n]],
            description=f"{name}: everything the {name.split()[1].lower()} team ships.",
            components=comps,
            versions=versions,
        )
    return out


def build_sprints(projects: dict[str, SandboxProject]) -> dict[int, SandboxSprint]:
    """Two-week sprints per project (one board each) covering the data span plus one future."""
    sprints: dict[int, SandboxSprint] = {}
    count = SPAN.days // SPRINT_DAYS + 2
    for n, project in enumerate(projects.values()):
        board = n + 1
        for k in range(count):
            start = ANCHOR - SPAN + timedelta(days=SPRINT_DAYS * k)
            end = start + timedelta(days=SPRINT_DAYS)
            state = "closed" if end <= ANCHOR else ("active" if start <= ANCHOR else "future")
            sid = board * 1000 + k + 1
            sprints[sid] = SandboxSprint(
                sid,
                f"{project.key} Sprint {k + 1}",
                state,
                board,
                start,
                end,
                end if state == "closed" else None,
                f"Ship the {project.name} increment {k + 1}",
            )
    return sprints


def _rank(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    for _ in range(6):
        n, rem = divmod(n, 36)
        out = digits[rem] + out
    return f"0|i{out}:"


def build_dataset(site: str = "a", seed: int = 1, issues: int = 300) -> Dataset:
    """Seed a whole site deterministically."""
    if site not in _SITE_USERS:
        raise ValueError(f"unknown sandbox site {site!r} (expected 'a' or 'b')")
    rng = random.Random(f"{site}:{seed}")
    users = build_users(site)
    projects = build_projects(site, users)
    sprints = build_sprints(projects)
    keys = list(projects)
    weights = [p[2] for p in _SITE_PROJECTS[site]]
    members = {k: [u.id for u in users.values() if k in u.projects and u.active] for k in keys}
    sprint_base = {k: (n + 1) * 1000 for n, k in enumerate(keys)}
    counters = dict.fromkeys(keys, 0)
    epics: dict[str, list[str]] = {k: [] for k in keys}
    parents: dict[str, list[str]] = {k: [] for k in keys}
    statuses = ["To Do", "In Progress", "In Review", "Blocked"]
    status_weights = [45, 30, 15, 10]
    out: list[SandboxIssue] = []
    links: dict[str, list[SandboxLink]] = {}
    step = SPAN / max(issues, 1)
    start = ANCHOR - SPAN
    link_id = 10000
    for i in range(issues):
        project = rng.choices(keys, weights)[0]
        counters[project] += 1
        key = f"{project}-{counters[project]}"
        created = start + step * (i + rng.random() * 0.9)
        created = created.replace(microsecond=created.microsecond // 1000 * 1000)
        age = (ANCHOR - created) / SPAN
        roll = rng.random()
        parent_key: str | None = None
        if roll < 0.06 or not parents[project]:
            itype = "Epic" if roll < 0.06 or not epics[project] else "Story"
        elif roll < 0.22:
            itype, parent_key = "Sub-task", rng.choice(parents[project][-40:])
        else:
            itype = "Story" if roll < 0.5 else ("Task" if roll < 0.75 else "Bug")
        if itype in {"Story", "Task", "Bug"} and epics[project] and rng.random() < 0.5:
            parent_key = rng.choice(epics[project][-8:])
        if rng.random() < 0.15 + 0.7 * age:
            status = "Done"
        else:
            status = rng.choices(statuses, status_weights)[0]
        updated = created + (ANCHOR - created) * (0.05 + 0.9 * rng.random()) * rng.random()
        updated = updated.replace(microsecond=updated.microsecond // 1000 * 1000)
        resolution = None
        if status == "Done":
            resolution = rng.choices(
                ["Done", "Won't Do", "Duplicate", "Cannot Reproduce"], [80, 10, 5, 5]
            )[0]
        team = members[project]
        custom: dict[str, object] = {CF_RANK: _rank(i * 7 + 13)}
        if itype != "Epic" and rng.random() < 0.7:
            custom[CF_STORY_POINTS] = float(rng.choice((1, 2, 3, 5, 8, 13)))
        if itype not in {"Epic", "Sub-task"} and rng.random() < 0.7:
            sprint = (created - start).days // SPRINT_DAYS + (0 if status == "Done" else 1)
            sprint = min(sprint, SPAN.days // SPRINT_DAYS + 1)
            custom[CF_SPRINT] = [sprint_base[project] + sprint + 1]
        if rng.random() < 0.6:
            custom[CF_TEAM] = rng.choice(TEAMS)[1]
        if rng.random() < 0.3:
            custom[CF_REVIEWERS] = rng.sample(team, min(len(team), rng.randint(1, 2)))
        if itype == "Epic" and rng.random() < 0.8:
            custom[CF_TARGET] = (created + timedelta(days=rng.randint(30, 120))).date()
        versions = projects[project].versions
        released = [v.name for v in versions if v.released] or [versions[0].name]
        unreleased = [v.name for v in versions if not v.released] or [versions[-1].name]
        fix = []
        if rng.random() < 0.4:
            fix = [rng.choice(released if status == "Done" else unreleased)]
        comps = [c.name for c in projects[project].components]
        ru = rng.random() < 0.06
        summary = (
            rng.choice(_RU_SUMMARIES)
            if ru
            else f"{rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_CONTEXTS)}".strip()
        )
        if itype == "Epic":
            summary = f"Epic: {rng.choice(_OBJECTS).capitalize()} overhaul"
        due: date | None = None
        if rng.random() < 0.3:
            due = (created + timedelta(days=rng.randint(7, 60))).date()
        issue = SandboxIssue(
            id=10000 + i,
            key=key,
            project_key=project,
            issuetype=itype,
            summary=summary,
            status=status,
            status_category=STATUS_BY_NAME[status].category,
            priority=rng.choices(
                ["Highest", "High", "Medium", "Low", "Lowest"], [5, 20, 50, 20, 5]
            )[0],
            assignee=rng.choice(team) if rng.random() < 0.8 else None,
            reporter=rng.choice(team),
            labels=rng.sample(LABELS, rng.choice((0, 0, 1, 1, 2, 3))),
            components=rng.sample(comps, rng.choice((0, 1, 1, 2))),
            fix_versions=fix,
            created=created,
            updated=updated,
            duedate=due,
            resolution=resolution,
            resolutiondate=updated if resolution else None,
            parent_key=parent_key,
            custom=custom,
        )
        out.append(issue)
        if itype == "Epic":
            epics[project].append(key)
        elif itype != "Sub-task":
            if len(parents[project]) > 1 and rng.random() < 0.15:
                other = rng.choice(parents[project][-60:])
                kind = rng.choices(["Blocks", "Relates", "Duplicate"], [40, 45, 15])[0]
                link = SandboxLink(link_id, kind, inward_key=other, outward_key=key)
                link_id += 1
                links.setdefault(key, []).append(link)
                links.setdefault(other, []).append(link)
            parents[project].append(key)
    return Dataset(site, seed, users, projects, sprints, out, links)
