"""The dashboard in a real headless Chromium: charts with alert markers, items, acknowledge.

The stream arrives through ``bizlm app risk replay --url`` against the live service.
"""

from __future__ import annotations

import json
from pathlib import Path

from bizlm.apps.risk.config import RiskFolder
from bizlm.apps.risk.monitor import Monitor
from bizlm.apps.risk.service import create_risk_app
from bizlm.cli import run
from bizlm.serve.settings import ServeSettings
from tests.apps.risk.conftest import keyword_classifier, stream
from tests.browser import chromium_page
from tests.live_server import serve_app


def test_dashboard_shows_trends_alerts_items_and_acknowledges(
    folder: RiskFolder, tiny_bundles: list[Path], tmp_path: Path, capsys
):
    monitor = Monitor(folder, keyword_classifier())
    settings = ServeSettings(bundles=(tiny_bundles[0],), auth=False)
    history = tmp_path / "history.jsonl"
    items = stream(14, 20, {9: 30}) + stream(14, 10, {}, topic_word="phone")
    history.write_text("\n".join(json.dumps(item) for item in items) + "\n")
    with serve_app(create_risk_app(monitor, settings, interval_s=0.05)) as url:
        assert (
            run(["app", "risk", "replay", str(history), "--speed", "max", "--url", url, "--json"])
            == 0
        )
        summary = json.loads(capsys.readouterr().out)
        assert summary["accepted"] == summary["sent"] and summary["rejected"] == []
        with chromium_page() as page:
            page.goto(url + "/")
            page.wait_for_selector("svg[data-topic=business] circle.alert-marker", timeout=30_000)
            assert page.locator(".chart h3").all_inner_texts() == ["business", "tech"]
            assert page.locator("#alerts tr").count() == 1
            first_item = page.locator("#items tr").first
            assert "Acme Corp" in first_item.locator(".entity").all_inner_texts()
            assert page.locator("#items tr").count() == 25
            page.click("#alerts button.ack")
            page.wait_for_selector("#alerts tr.acked", timeout=10_000)
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    [alert] = monitor_alerts(folder)
    assert alert["topic"] == "business" and alert["acknowledged_at"] is not None
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000


def monitor_alerts(folder: RiskFolder) -> list[dict]:
    from bizlm.apps.risk.alerting import list_alerts
    from bizlm.apps.risk.store import ItemStore

    store = ItemStore(folder.database)
    try:
        return list_alerts(store)
    finally:
        store.close()
