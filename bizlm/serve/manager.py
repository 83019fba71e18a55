"""Which models the server answers for, and hot reload from the registry.

With bundles given directly, each is served under its folder name for the server's lifetime
(an application that has loaded one of them already hands it over as ``preloaded``).
Otherwise the production version of every registered model is served, and :meth:`refresh`
(called every poll interval) loads a newly promoted version in the background and swaps it in
atomically: requests already queued or running are answered, by whichever version runs their
batch. A model that loses its production version keeps serving its last one until restart.

A production version that cannot be loaded (a file changed, missing or truncated since it was
registered, or a bundle that does not load) is logged once and not tried again until another
version is promoted; the model keeps serving the version it served. When nothing is served yet
(at start), the most recent earlier production version that loads is served instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bizlm.predictor import Predictor
from bizlm.registry.store import Registry, check_name
from bizlm.registry.versions import ModelVersion
from bizlm.serve.observe import ServerMetrics
from bizlm.serve.served import LoadedModel, ServedModel, load_bundle, load_version
from bizlm.serve.settings import ServeError, ServeSettings

log = logging.getLogger("bizlm.serve")


@dataclass(frozen=True)
class LoadFailure:
    """A production version the server could not load, and why."""

    version: str
    error: str


def bundle_name(path: Path) -> str:
    """The name a bundle given directly is served under: its folder's name."""
    return check_name(path.resolve().name)


class ModelManager:
    """The served models, by name."""

    def __init__(
        self,
        settings: ServeSettings,
        metrics: ServerMetrics,
        preloaded: Mapping[Path, Predictor] | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.preloaded = {path.resolve(): model for path, model in (preloaded or {}).items()}
        self.models: dict[str, ServedModel] = {}
        self.failures: dict[str, LoadFailure] = {}
        self.registry = None if settings.bundles else Registry(settings.registry_url)
        self.loaded = False
        self._refresh_lock = threading.Lock()

    def load_initial(self) -> None:
        """Load every model to serve (blocking); errors here stop the server from starting."""
        if self.registry is None:
            for path in self.settings.bundles:
                name = bundle_name(path)
                if name in self.models:
                    raise ServeError(
                        f"Two bundles are named '{name}'.", hint="Rename one of the folders."
                    )
                loaded = load_bundle(path, self.preloaded.get(path.resolve()))
                self.models[name] = ServedModel(name, loaded, self.settings, self.metrics)
                log.info("serving bundle %s as '%s'", path, name)
        else:
            self.refresh()
        self.loaded = True

    def refresh(self, retry_failed: bool = False) -> list[str]:
        """Serve each model's current production version; returns the models that changed.

        A version that failed to load is tried again only when another one is promoted, or
        when ``retry_failed`` is set (an admin's reload, e.g. after the files were restored).
        """
        if self.registry is None:
            return []
        with self._refresh_lock:
            if retry_failed:
                self.failures.clear()
            production = sorted(self.registry.production().items())
            return [name for name, version in production if self._follow(name, version)]

    def status(self) -> dict[str, dict[str, Any]]:
        """Per model: the version served (None: none) and the production version that could
        not be loaded, with the reason, while there is one."""
        models, failures = dict(self.models), dict(self.failures)
        report: dict[str, dict[str, Any]] = {}
        for name in sorted({*models, *failures}):
            served = models.get(name)
            report[name] = {"version": served.current.version if served else None}
            if name in failures:
                report[name]["failed"] = asdict(failures[name])
        return report

    def _follow(self, name: str, version: ModelVersion) -> bool:
        """Serve ``version`` of ``name`` if it loads; True when the served version changed."""
        served = self.models.get(name)
        number = str(version.version)
        if served is not None and served.current.version == number:
            self.failures.pop(name, None)
            return False
        failure = self.failures.get(name)
        if failure is not None and failure.version == number:
            return False  # logged when it failed; tried again once another version is promoted
        try:
            loaded = load_version(version)
        except Exception as exc:  # keep serving what is served; say why, once
            self.failures[name] = LoadFailure(number, str(exc))
            if served is not None:
                log.error(
                    "cannot load %s version %s, its production version: %s; still serving "
                    "version %s",
                    name,
                    number,
                    exc,
                    served.current.version,
                )
                return False
            log.critical("cannot load %s version %s, its production version: %s", name, number, exc)
            fallback = self._earlier_version(name, version.version)
            if fallback is None:
                return False
            loaded = fallback
        else:
            self.failures.pop(name, None)
        if served is None:
            self.models[name] = ServedModel(name, loaded, self.settings, self.metrics)
        else:
            served.swap(loaded)
            self.metrics.reloads.labels(model=name).inc()
        log.info("serving %s version %s", name, loaded.version)
        return True

    def _earlier_version(self, name: str, failed: int) -> LoadedModel | None:
        """The most recent earlier production version of ``name`` that loads, logged loudly."""
        assert self.registry is not None
        for earlier in self.registry.earlier_production(name, besides=failed):
            try:
                loaded = load_version(earlier)
            except Exception as exc:
                log.error("cannot load %s version %s either: %s", name, earlier.version, exc)
                continue
            log.critical(
                "serving %s version %s, an earlier production version, instead of version %s "
                "until a version that loads is promoted",
                name,
                earlier.version,
                failed,
            )
            return loaded
        log.critical("no version of %s can be loaded: %s is not served", name, name)
        return None

    def close(self) -> None:
        """Stop every model's worker after it answers what is queued."""
        for served in self.models.values():
            served.close()
