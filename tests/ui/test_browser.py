"""The whole assessment loop in headless Chromium against a real uvicorn: sign in, create an
organization, assess a local TLS server, follow it to the end, triage a finding, export a
report, and read every page; a screenshot of each page is kept."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ADMIN_KEY
from tests.servers import cert_pair, openssl_server
from tests.ui.conftest import LiveServer

pytestmark = pytest.mark.ui
RUN_TIMEOUT_MS = 120_000  # how long to wait for a run to end; nothing is asserted about it


def _shot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def _nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def _sign_in(page: Page, artifacts: Path) -> None:
    page.goto("/ui/")
    expect(page).to_have_url(re.compile(r"/ui/login\?next=/ui"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    _shot(page, artifacts, "01-login")
    page.get_by_label("API key or token").fill(ADMIN_KEY)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_text("ci-admin (admin)")).to_be_visible()


def _create_organization(page: Page, name: str) -> None:
    _nav(page, "Organizations")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_label("Organization", exact=True)).to_have_value(
        re.compile(r"[0-9a-f-]{36}")
    )
    expect(page.get_by_text("No completed assessment yet")).to_be_visible()


def _submit_assessment(page: Page, artifacts: Path, org: str, port: int) -> None:
    _nav(page, "Assessments")
    # The new organization's empty state (the suite's other tests leave their own behind).
    filters = page.get_by_role("form", name="Filter assessments")
    filters.get_by_label("Organization").select_option(label=org)
    filters.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No assessments match")).to_be_visible()
    page.get_by_role("link", name="New assessment").click()
    page.get_by_label("Name", exact=True).fill("Local TLS server")
    page.get_by_label("Organization", exact=True).select_option(label=org)
    page.get_by_label(re.compile("^Targets")).fill(f"127.0.0.1:{port}")
    page.get_by_label(re.compile("^Certificates")).set_input_files(str(cert_pair("rsa2048")[0]))
    page.get_by_label("Shelf life: years it must stay secret").fill("15")
    _shot(page, artifacts, "03-assessment-new")
    page.get_by_role("button", name="Create assessment").click()
    expect(page.get_by_role("heading", name="Local TLS server")).to_be_visible()
    # The page follows the run over SSE and reloads itself once it has ended.
    expect(page.locator('[data-field="status"]')).to_have_text("COMPLETED", timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_role("heading", name="Findings")).to_be_visible()
    targets = page.locator("section", has=page.get_by_role("heading", name="Targets"))
    expect(targets.get_by_role("cell", name=f"127.0.0.1:{port}", exact=False)).to_be_visible()
    assets = page.locator("section", has=page.get_by_role("heading", name="Assets"))
    expect(assets.get_by_text("quantum-vulnerable").first).to_be_visible()
    expect(page.get_by_role("img", name="Migration plan")).to_be_visible()
    _shot(page, artifacts, "04-assessment")


def _triage_first_finding(page: Page, artifacts: Path) -> str:
    findings = page.locator("section", has=page.get_by_role("heading", name="Findings"))
    link = findings.get_by_role("link").first
    title = link.inner_text()
    link.click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    page.get_by_label("Status").select_option("accepted_risk")
    page.get_by_label("Analyst risk level").select_option("LOW")
    page.get_by_label("Note").fill("compensating control: internal network only")
    page.get_by_role("button", name="Save triage").click()
    expect(page.get_by_role("status")).to_have_text("Triage saved.")
    expect(page.get_by_label("Status")).to_have_value("accepted_risk")
    expect(page.get_by_label("Analyst risk level")).to_have_value("LOW")
    _shot(page, artifacts, "05-finding")
    return title


def _export_report(page: Page, artifacts: Path) -> None:
    page.get_by_role("link", name=re.compile("^← ")).click()
    with page.expect_download() as download:
        page.get_by_role("link", name="HTML", exact=True).click()
    saved = artifacts / "report.html"
    download.value.save_as(saved)
    text = saved.read_text()
    assert "<html" in text
    assert "Local TLS server" in text


def _read_pages(page: Page, artifacts: Path, title: str) -> None:
    _nav(page, "Findings")
    page.get_by_label("Triage").select_option("accepted_risk")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("link", name=title)).to_be_visible()
    _shot(page, artifacts, "06-findings")
    _nav(page, "Overview")
    expect(page.get_by_role("img", name="Findings by level")).to_be_visible()
    expect(page.get_by_text("not assessed")).to_have_count(0)
    _shot(page, artifacts, "02-overview")
    _nav(page, "Assessments")
    expect(page.get_by_role("link", name="Local TLS server")).to_be_visible()
    _shot(page, artifacts, "07-assessments")
    _nav(page, "HNDL calculator")
    page.get_by_label("Shelf life (years)").fill("25")
    # The calculator redraws without a reload once the number changes.
    expect(page.get_by_text("data secret for 25 years")).to_be_visible()
    expect(page).to_have_url(re.compile(r"shelf_life_years=25"))
    _shot(page, artifacts, "08-hndl")


def test_assessment_loop(page: Page, live_server: LiveServer, artifacts: Path) -> None:
    org = f"ui-org-{uuid.uuid4().hex[:8]}"
    _sign_in(page, artifacts)
    _create_organization(page, org)
    with openssl_server(*cert_pair("rsa2048")) as port:
        _submit_assessment(page, artifacts, org, port)
    title = _triage_first_finding(page, artifacts)
    _export_report(page, artifacts)
    _read_pages(page, artifacts, title)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/ui/findings")
    expect(page).to_have_url(re.compile(r"/ui/login"))
