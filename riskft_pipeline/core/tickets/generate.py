"""A seeded generator of ServiceNow-like ticket exports (the project's embedded default data and benchmarks).

Same columns as the public sample, written from this project's own templates. Labels are learnable: the software
system and the issue are stated or implied in the text, and the assignment group follows from the system's domain
and the kind of issue, with noise (a catch-all "TIER 2 TEAM", a random group, ~20% empty) like real queues.
Some texts mention colleagues, e-mail addresses and phone numbers (so redaction has work), error codes and
``IP:port`` strings (which must survive), and a few rows are malformed on purpose (so quarantine has work).

Vectorised with numpy: a million rows take seconds, not minutes.

    python -m riskft_pipeline.core.tickets.generate --rows 1200 --seed 7 --out data/tickets.csv
"""

from __future__ import annotations

import argparse
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskft_pipeline.core.tickets.names import FIRST_NAMES, SURNAMES

COLUMNS: tuple[str, ...] = (
    "number", "type", "date", "contact_type", "short_description", "content", "category", "subcategory",
    "customer", "resolved_at", "close_notes", "agent", "reassigned_count", "resolution_time", "issue/request",
    "software/system", "output", "assignment_group", "item_id", "role", "poor_close_notes",
    "info_score_close_notes", "info_score_poor_close_notes",
)  # fmt: skip

# Software systems by domain: the domain decides the default queue.
SYSTEMS: dict[str, tuple[str, ...]] = {
    "collaboration": ("Slack", "Zoom", "Microsoft Teams", "Cisco Webex", "Confluence", "Miro", "Asana"),
    "database": ("PostgreSQL", "Oracle Database", "MongoDB Atlas", "MySQL", "Microsoft SQL Server", "Redis",
                 "Snowflake"),
    "devops": ("Jenkins", "GitLab", "GitHub Enterprise", "Docker Desktop", "Kubernetes", "Terraform", "Ansible",
               "Argo CD", "Bitbucket", "SonarQube"),
    "cloud": ("Amazon Web Services (AWS)", "Microsoft Azure", "Google Cloud Platform", "VMware vSphere",
              "Citrix Workspace"),
    "security": ("CrowdStrike Falcon", "Okta", "CyberArk", "Splunk", "GlobalProtect VPN Client", "Duo Mobile"),
    "business": ("Salesforce", "SAP S/4HANA", "Workday", "Microsoft Dynamics 365", "Oracle NetSuite", "Coupa"),
    "office": ("Microsoft Excel", "Outlook", "Microsoft Word", "OneDrive", "SharePoint Online", "Adobe Acrobat Pro"),
    "analytics": ("Tableau", "Power BI", "Looker", "Qlik Sense", "Alteryx"),
    "inhouse": ("LedgerLite", "ShipTrackr", "PayFlow360", "DocuVault", "AssetHub", "TimeKeeper Pro", "ClaimsDesk",
                "QuoteMaster", "RosterOne", "InvoiceIQ", "GeoPlanner", "LabLog"),
}  # fmt: skip
DOMAIN_GROUP = {
    "collaboration": "COLLABORATION SERVICES", "database": "DATABASE ADMINISTRATION", "devops": "DEVOPS TEAM",
    "cloud": "CLOUD INFRASTRUCTURE", "security": "SECURITY OPERATIONS", "business": "ENTERPRISE APPLICATIONS",
    "office": "DESKTOP SUPPORT", "analytics": "BUSINESS INTELLIGENCE", "inhouse": "APPLICATION SUPPORT",
}  # fmt: skip

ERRORS: tuple[str, ...] = (
    "Connection refused: 10.24.8.15:5432", "HTTP 503 Service Unavailable", "0x80070005 Access is denied",
    "Exception from HRESULT: -2147467259", "ERROR 1045 (28000): Access denied for user 'svc_report'",
    "SSL handshake failed with 172.16.4.20:8443", "Request timed out after 30000 ms",
    "java.lang.OutOfMemoryError: Java heap space", "Segmentation fault (core dumped)",
    "KeyError: 'customer_id'", "License server 192.168.10.5:27000 is not reachable", "npm ERR! code E404",
    "fatal: unable to access repository (HTTP 403)", "Sync stopped with code 0x8004de40",
    "Disk quota exceeded (errno 122)", "Certificate expired on 2023-01-31",
    "Version mismatch: client 4.2.1, server 4.3.0", "Kerberos ticket has expired", "SMTP 550 5.7.1 relay denied",
    "ECONNRESET: socket hang up", "NullReferenceException in ReportBuilder.Render()",
    "DNS lookup failed for api.internal.example", "401 Unauthorized", "Failed to load module libssl.so.3",
    "PermissionError: [Errno 13] Permission denied", "deadlock detected (SQLSTATE 40P01)",
    "Error 0x800CCC0E: cannot connect to server", "Unexpected token < in JSON at position 0",
    "502 Bad Gateway from 10.0.12.7:8080", "Database is locked (code 5)",
)  # fmt: skip


@dataclass(frozen=True)
class Kind:
    """One kind of ticket: its labels, its issue label template and its text templates."""

    type: str
    category: str
    subcategory: str
    issue: str  # template for issue/request, with {sys} and {err}
    subjects: tuple[str, ...]
    bodies: tuple[str, ...]
    weight: float
    group: str | None = None  # fixed queue; None → the system's domain queue
    system: str | None = None  # fixed "software/system" (hardware, mailboxes); None → a software system


_LEAD = ("Hi team,", "Hello,", "Good morning,", "", "", "")
KINDS: dict[str, Kind] = {
    "error": Kind("Incident", "SOFTWARE", "ERROR", "Error - {err}",
                  ("{sys} error: {err}", "Error in {sys}", "{sys} shows an error message", "{sys} keeps failing"),
                  ("Every time I open {sys} I get the message '{err}'. I restarted my machine but it still happens.",
                   "{sys} stopped working this morning with the error: {err}. Several people on my team see it too.",
                   "While saving my work in {sys} the application reports '{err}' and nothing is saved.",
                   "Our nightly job in {sys} fails with {err}. It worked fine until yesterday."),
                  0.40),
    "crash": Kind("Incident", "SOFTWARE", "MALFUNCTION", "{sys} Crashes When Saving",
                  ("{sys} crashes when saving", "{sys} closes unexpectedly", "{sys} freezes and crashes"),
                  ("{sys} crashes whenever I try to save a file. I lose my changes each time.",
                   "Since the last update {sys} freezes and then closes without any message when I save.",
                   "{sys} quits as soon as I press save. Reinstalling did not help."),
                  0.12),
    "slow": Kind("Incident", "SOFTWARE", "MALFUNCTION", "{sys} Slow Performance", 
                 ("{sys} is very slow", "Slow performance in {sys}", "{sys} takes minutes to respond"),
                 ("{sys} has become extremely slow over the last days; simple actions take more than a minute.",
                  "Pages in {sys} load very slowly for our whole department, which blocks our daily work.",
                  "Reports in {sys} now take ages to open. Could someone look at the performance?"),
                 0.09, group="PERFORMANCE MONITORING"),
    "compat": Kind("Incident", "SOFTWARE", "COMPATIBILITY", "{sys} Compatibility Issue",
                   ("{sys} not compatible after OS update", "{sys} compatibility problem"),
                   ("After the operating system update {sys} no longer starts; it says the version is not supported.",
                    "{sys} does not work with the new plug-in version we rolled out last week."),
                   0.03),
    "install": Kind("Request", "SOFTWARE", "INSTALLATION", "{sys} Installation Request",
                    ("Please install {sys}", "Installation request: {sys}", "Need {sys} installed on my laptop"),
                    ("Could you please install {sys} on my laptop? I need it for a new project starting next week.",
                     "I would like to request an installation of {sys} for my workstation.",
                     "Our new team member needs {sys} installed before Monday."),
                    0.10, group="DEVICE PROVISIONING"),
    "upgrade": Kind("Request", "SOFTWARE", "INSTALLATION", "{sys} Upgrade Request",
                    ("Upgrade {sys} to the latest version", "Request to upgrade {sys}"),
                    ("Please upgrade {sys} to the latest version; we need the new features for reporting.",
                     "Can {sys} be upgraded? The version we run is out of support."),
                    0.06),
    "config": Kind("Request", "SOFTWARE", "CONFIGURATION", "{sys} Configuration Change",
                   ("Change configuration of {sys}", "{sys} settings change request"),
                   ("Please change the notification settings in {sys} so that alerts go to our team channel.",
                    "We need a configuration change in {sys}: the default project template must be updated."),
                   0.05),
    "training": Kind("Request", "SOFTWARE", "TRAINING", "{sys} Training Request",
                     ("Training session for {sys}", "Request for {sys} training"),
                     ("Our team would like a training session on the advanced features of {sys}.",
                      "Could you organise an introduction to {sys} for the new hires?"),
                     0.02, group="KNOWLEDGE MANAGEMENT"),
    "login": Kind("Incident", "ACCOUNT", "ACCESS", "{sys} Login Failure",
                  ("Cannot log in to {sys}", "{sys} login fails", "Locked out of {sys}"),
                  ("I cannot log in to {sys}; it says my credentials are invalid although I just reset my password.",
                   "My account in {sys} is locked after the password change."),
                  0.03, group="USER ACCESS MANAGEMENT"),
    "access": Kind("Request", "ACCOUNT", "ACCESS", "{sys} Access Request",
                   ("Access to {sys} for {colleague}", "Grant {sys} access"),
                   ("Please grant {colleague} access to {sys}; they joined the finance team this week.",
                    "Could you give {colleague} and {colleague2} read access to {sys}?"),
                   0.02, group="USER ACCESS MANAGEMENT"),
    "license": Kind("Request", "ACCOUNT", "ACCESS", "{sys} License Request",
                    ("License needed for {sys}", "{sys} license request"),
                    ("I need a license for {sys}; my trial expires on Friday.",
                     "Please assign a {sys} license to {colleague}, who starts on Monday."),
                    0.02, group="ASSET MANAGEMENT"),
    "mailbox": Kind("Request", "EMAIL", "REQUEST", "Shared Mailbox Creation",
                    ("New shared mailbox request", "Create shared mailbox"),
                    ("Please create a shared mailbox {mailbox} and add {colleague} and {colleague2} as members.",
                     "We need a new shared mailbox ({mailbox}) for our team; owner will be {colleague}."),
                    0.006, group="EMAIL TEAM", system="Shared Mailbox"),
    "dlist": Kind("Request", "EMAIL", "REQUEST", "Distribution List Update",
                  ("Update distribution list members", "Distribution list change"),
                  ("Please add {user} and {user2} to the distribution list {mailbox} and remove {user3}.",
                   "Add {colleague} to the list {mailbox}, please."),
                  0.006, group="EMAIL TEAM", system="Distribution List"),
    "printer": Kind("Incident", "PRINTER", "MALFUNCTION", "Printer Offline",
                    ("Printer on floor 3 is offline", "Cannot print to the office printer"),
                    ("The {printer} shows as offline for everybody on our floor; printing jobs stay in the queue.",
                     "Printing to the {printer} fails since this morning; the display shows a paper error."),
                    0.006, group="PRINTER TEAM", system="Printer"),
    "hardware": Kind("Incident", "HARDWARE", "MALFUNCTION", "Laptop Overheating",
                     ("Laptop overheating", "My laptop gets very hot and shuts down"),
                     ("My laptop gets very hot and switches itself off after an hour of work.",
                      "The fan of my laptop is loud and the machine shuts down when I run large files."),
                     0.006, group="DESKTOP SUPPORT", system="Laptop"),
    "network": Kind("Incident", "NETWORK", "CONFIGURATION", "VPN Connection Failure",
                    ("VPN does not connect", "Cannot reach internal sites over VPN"),
                    ("The VPN disconnects every few minutes; the log shows a timeout to 10.8.0.1:1194.",
                     "From home I cannot connect to the VPN gateway 203.0.113.10:443 since yesterday."),
                    0.006, group="NETWORK OPERATIONS", system="VPN"),
    "phishing": Kind("Incident", "SECURITY", "ACCESS", "Suspicious Email Reported",
                     ("Suspicious email received", "Possible phishing message"),
                     ("I received an email asking me to confirm my password on an unknown site. Is this phishing?",
                      "A message claiming to be from payroll asks for my bank details; it looks like phishing."),
                     0.004, group="SECURITY OPERATIONS", system="Email Security"),
}  # fmt: skip
# Optional context sentences: they make texts diverse the way real tickets are, without touching the labels.
DETAILS = (
    " It started {when}.",
    " This affects {users} people in {dept}.",
    " I am working on {os}.",
    " My device is {asset}.",
    " It is urgent because of the {deadline} deadline.",
    " I already tried {tried}.",
    " The problem happens {freq}.",
    " We are located in the {site} office.",
)
DETAIL_VALUES = {
    "when": ("this morning", "after yesterday's update", "on Monday", "last week", "after the password change",
             "right after lunch", "when I came back from leave", "after the migration"),
    "dept": ("finance", "sales", "procurement", "HR", "logistics", "customer care", "engineering", "legal"),
    "os": ("Windows 11", "Windows 10", "macOS Sonoma", "Ubuntu 22.04", "a Citrix session", "an iPad"),
    "deadline": ("month-end closing", "audit", "release", "quarterly report", "customer demo", "payroll"),
    "tried": ("restarting", "clearing the cache", "reinstalling", "a different browser", "logging out and in",
              "another network"),
    "freq": ("every time", "a few times a day", "only in the afternoon", "randomly", "on every second attempt"),
    "site": ("Berlin", "Chicago", "Pune", "Madrid", "Toronto", "Singapore", "Leeds", "Nairobi"),
}  # fmt: skip
PRINTERS = ("HP LaserJet Pro M404", "Canon imageRUNNER C3226", "Brother HL-L6200DW", "Xerox VersaLink C405")
CONTACT_TYPES = (("Email", 0.32), ("Chat", 0.29), ("Phone", 0.26), ("Self-service", 0.13))
SIGN_OFFS = ("\n\nThanks,\n{me}", "\n\nRegards, {me}", "\n\nBest regards,\n{me}", " Thank you, {me_first}.")
CONTACTS = (" You can reach me at {phone}.", " My mobile is {phone}.", " Please reply to {email}.",
            " Call me on {phone} if needed.")  # fmt: skip
CLOSE_NOTES = (
    "Investigated the {issue} reported for {sys}. Applied the fix and confirmed with the user that it works.",
    "Reproduced the problem in {sys}, updated the configuration and closed after the user confirmed.",
    "Handled the request for {sys}; the user was informed and the ticket is closed.",
)
POOR_NOTES = ("Resolved", "Done", "Fixed.", "See worknotes", "Closed per user.", "Issue resolved.")
EXTRA_GROUPS = (
    "TIER 2 TEAM",
    "SERVICE DESK",
    "HELPDESK OPERATIONS",
    "TECHNICAL OPERATIONS",
    "IT PROCUREMENT",
)


def _pick(rng: np.random.Generator, options, n: int, p=None) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=n, p=p)]


def _people(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    firsts = _pick(rng, sorted(FIRST_NAMES), n)
    lasts = _pick(rng, SURNAMES, n)
    return firsts, lasts


def _join(*parts) -> np.ndarray:
    """Element-wise string concatenation of arrays and scalars."""
    out = np.asarray(parts[0], dtype=object)
    for part in parts[1:]:
        out = out + np.asarray(part, dtype=object)
    return out


def _dates(rng: np.random.Generator, n: int) -> tuple[pd.Series, np.ndarray]:
    """Opening times in 2022–2023 as M/D/YYYY H:MM (no zero padding, like the source system), and the stamps."""
    start = np.datetime64("2022-01-01T00:00")
    minutes = rng.integers(0, 2 * 365 * 24 * 60, size=n)
    stamps = pd.to_datetime(start + minutes.astype("timedelta64[m]"))
    return _format_dates(stamps), stamps


def _format_dates(stamps: pd.DatetimeIndex) -> pd.Series:
    s = pd.Series(stamps)
    return (
        s.dt.month.astype(str) + "/" + s.dt.day.astype(str) + "/" + s.dt.year.astype(str) + " "
        + s.dt.hour.astype(str) + ":" + s.dt.minute.astype(str).str.zfill(2)
    )  # fmt: skip


def _fill(templates: tuple[str, ...], choice: np.ndarray, values: dict[str, np.ndarray]) -> list[str]:
    """Format template ``choice[i]`` with row i's values (a plain loop: str.format has no vectorised form).

    Only the fields the templates use are passed, which keeps the loop cheap at a million rows.
    """
    used = {f for t in templates for _, f, _, _ in string.Formatter().parse(t) if f}
    keys = [k for k in values if k in used]
    columns = [values[k] for k in keys]
    return [templates[c].format(**dict(zip(keys, row))) for c, *row in zip(choice, *columns)]


def generate_tickets(n: int, seed: int) -> pd.DataFrame:
    """``n`` rows of a ServiceNow-like export (same columns as the public sample), reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    kinds = list(KINDS)
    weights = np.array([KINDS[k].weight for k in kinds])
    kind = np.asarray(kinds, dtype=object)[rng.choice(len(kinds), size=n, p=weights / weights.sum())]
    domains = list(SYSTEMS)
    domain = _pick(rng, domains, n)
    system = np.array(
        [SYSTEMS[d][i % len(SYSTEMS[d])] for d, i in zip(domain, rng.integers(0, 1000, n))], dtype=object
    )
    fixed_system = np.array([KINDS[k].system or "" for k in kinds], dtype=object)[
        pd.Index(kinds).get_indexer(kind)
    ]
    system = np.where(fixed_system != "", fixed_system, system)
    error = _pick(rng, ERRORS, n)

    firsts, lasts = _people(rng, n)
    c_first, c_last = _people(rng, n)
    c2_first, c2_last = _people(rng, n)
    u3_first, u3_last = _people(rng, n)
    team = _pick(rng, ("finance", "sales", "ops", "hr", "legal", "marketing", "support"), n)
    values = {
        "sys": system, "err": error, "printer": _pick(rng, PRINTERS, n),
        "colleague": _join(c_first, " ", c_last), "colleague2": _join(c2_first, " ", c2_last),
        "user": np.char.lower(_join(c_first, ".", c_last).astype(str)).astype(object),
        "user2": np.char.lower(_join(c2_first, ".", c2_last).astype(str)).astype(object),
        "user3": np.char.lower(_join(u3_first, ".", u3_last).astype(str)).astype(object),
        "mailbox": _join(team, rng.integers(1, 99, n).astype(str), "@corp.example.com"),
    }  # fmt: skip
    subject = np.empty(n, dtype=object)
    body = np.empty(n, dtype=object)
    issue = np.empty(n, dtype=object)
    for name, spec in KINDS.items():
        rows = np.flatnonzero(kind == name)
        if not len(rows):
            continue
        sub = {k: v[rows] for k, v in values.items()}
        subject[rows] = _fill(spec.subjects, rng.integers(0, len(spec.subjects), len(rows)), sub)
        body[rows] = _fill(spec.bodies, rng.integers(0, len(spec.bodies), len(rows)), sub)
        issue[rows] = _fill((spec.issue,), np.zeros(len(rows), dtype=int), sub)

    body = _add_details(rng, body)
    body = _decorate(rng, body, firsts, lasts)
    spec_of = [KINDS[k] for k in kind]
    group = _groups(
        rng, np.array([s.group or DOMAIN_GROUP[d] for s, d in zip(spec_of, domain)], dtype=object)
    )
    date_text, opened = _dates(rng, n)
    hours = np.round(rng.gamma(1.5, 30.0, n), 2)
    resolved = _format_dates(pd.DatetimeIndex(opened + pd.to_timedelta(hours, unit="h")))
    resolved = resolved.where(rng.random(n) > 0.15, "")
    type_ = np.array([s.type for s in spec_of], dtype=object)
    number = _join(
        np.where(type_ == "Incident", "INC", "TASK").astype(object),
        (rng.choice(9_000_000, size=n, replace=False) + 1_000_000).astype(str).astype(object),
    )
    agent_first, agent_last = _people(rng, n)
    notes = _fill(CLOSE_NOTES, rng.integers(0, len(CLOSE_NOTES), n), {"sys": system, "issue": issue})
    df = pd.DataFrame({
        "number": number, "type": type_, "date": date_text.to_numpy(),
        "contact_type": _pick(rng, [c for c, _ in CONTACT_TYPES], n, p=[p for _, p in CONTACT_TYPES]),
        "short_description": subject, "content": body,
        "category": [s.category for s in spec_of], "subcategory": [s.subcategory for s in spec_of],
        "customer": _join(lasts, ", ", firsts), "resolved_at": resolved.to_numpy(), "close_notes": notes,
        "agent": _join(agent_last, ", ", agent_first), "reassigned_count": rng.integers(0, 5, n).astype(str),
        "resolution_time": hours.astype(str), "issue/request": issue, "software/system": system,
        "output": _join("Software/System: ", system, " ; Issue/Request: ", issue), "assignment_group": group,
        "item_id": rng.integers(100, 15000, n).astype(str), "role": _pick(rng, ("customer", "agent"), n),
        "poor_close_notes": _pick(rng, POOR_NOTES, n),
        "info_score_close_notes": np.round(rng.uniform(0.5, 0.95, n), 2).astype(str),
        "info_score_poor_close_notes": np.round(rng.uniform(0.0, 0.2, n), 2).astype(str),
    })  # fmt: skip
    return _corrupt(rng, df).reset_index(drop=True)


def _decorate(
    rng: np.random.Generator, body: np.ndarray, firsts: np.ndarray, lasts: np.ndarray
) -> np.ndarray:
    """Greetings, sign-offs with the customer's name, and a few phone numbers / e-mail addresses."""
    n = len(body)
    lead = _pick(rng, _LEAD, n)
    body = np.where(lead != "", lead + " " + body, body)
    sign = np.flatnonzero(rng.random(n) < 0.2)
    body[sign] = body[sign] + np.asarray(
        _fill(
            SIGN_OFFS,
            rng.integers(0, len(SIGN_OFFS), len(sign)),
            {"me": _join(firsts[sign], " ", lasts[sign]), "me_first": firsts[sign]},
        ),
        dtype=object,
    )
    contact = np.flatnonzero(rng.random(n) < 0.05)
    k = len(contact)
    phones = _join(
        "+1 ", rng.integers(201, 990, k).astype(str), " 555-01", rng.integers(10, 100, k).astype(str)
    )
    emails = np.array(
        [f"{f}.{s}@corp.example.com".lower() for f, s in zip(firsts[contact], lasts[contact])], dtype=object
    )
    body[contact] = body[contact] + np.asarray(
        _fill(CONTACTS, rng.integers(0, len(CONTACTS), k), {"phone": phones, "email": emails}), dtype=object
    )
    return body


def _add_details(rng: np.random.Generator, body: np.ndarray) -> np.ndarray:
    """Zero to two context sentences per ticket."""
    n = len(body)
    values = {k: _pick(rng, v, n) for k, v in DETAIL_VALUES.items()}
    values["users"] = rng.integers(2, 60, n).astype(str).astype(object)
    values["asset"] = _join("LT-", rng.integers(10000, 99999, n).astype(str).astype(object))
    for share in (0.7, 0.35):
        rows = np.flatnonzero(rng.random(n) < share)
        picked = {k: v[rows] for k, v in values.items()}
        body[rows] = body[rows] + np.asarray(
            _fill(DETAILS, rng.integers(0, len(DETAILS), len(rows)), picked), dtype=object
        )
    return body


def _groups(rng: np.random.Generator, group: np.ndarray) -> np.ndarray:
    """Queue noise: some tickets sit in a catch-all or a random queue, ~20% have none."""
    u = rng.random(len(group))
    all_groups = sorted(set(group) | set(EXTRA_GROUPS))
    group = np.where(u < 0.12, "TIER 2 TEAM", group)
    group = np.where((u >= 0.12) & (u < 0.16), _pick(rng, all_groups, len(group)), group)
    return np.where(rng.random(len(group)) < 0.2, "", group)


def _corrupt(rng: np.random.Generator, df: pd.DataFrame) -> pd.DataFrame:
    """A few rows broken on purpose, each kind at least once, so every quarantine path is exercised."""
    n = len(df)
    if n < 20:
        return df
    k = max(1, n // 400)
    rows = rng.choice(n, size=8 * k + 1, replace=False)
    take = iter(np.split(rows[: 8 * k], 8))
    df = df.copy()
    idx = next(take)
    df.loc[idx, ["short_description", "content"]] = ""  # missing text
    idx = next(take)
    df.loc[idx, "date"] = _pick(rng, ("31/02/2023 25:61", "not recorded", "2023-13-45"), len(idx))
    idx = next(take)
    df.loc[idx, "category"] = ""  # missing label
    idx = next(take)  # same number, different content
    df.loc[idx, "number"] = df["number"].to_numpy()[rng.choice(n, size=len(idx))]
    idx = next(take)  # formula cells (also missing a label, so they land in the quarantine CSV)
    df.loc[idx, "short_description"] = '=HYPERLINK("http://attacker.invalid","open")'
    df.loc[idx, "content"] = "=cmd|' /C calc'!A0 " + df.loc[idx, "content"]
    df.loc[idx, "type"] = ""
    idx = next(take)  # same text as another ticket
    src = rng.choice(n, size=len(idx))
    df.loc[idx, ["short_description", "content"]] = df[["short_description", "content"]].to_numpy()[src]
    idx = next(take)  # repeated label whitespace/case noise: normalised, not quarantined
    df.loc[idx, "category"] = "  " + df.loc[idx, "category"].str.lower() + " "
    idx = next(take)  # exact duplicate rows appended
    dups = df.loc[idx]
    big = rows[-1]  # one oversize field
    df.loc[big, "content"] = (df.loc[big, "content"] + " ") * (
        20000 // max(1, len(df.loc[big, "content"])) + 2
    )
    return pd.concat([df, dups])


INDEX_COLUMN = "Unnamed: 0"  # the public export carries a pandas index column under this name


def write_tickets_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write like the public export: its index column first, UTF-8, '\\n' line ends."""
    df.to_csv(path, index=True, index_label=INDEX_COLUMN, lineterminator="\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=1200, help="number of tickets before duplicates are appended"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    df = generate_tickets(args.rows, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_tickets_csv(df, args.out)
    print(f"wrote {len(df)} rows to {args.out}")


if __name__ == "__main__":
    main()
