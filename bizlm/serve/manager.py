"""Which models the server answers for, and hot reload from the registry.

With bundles given directly, each is served under its folder name for the server's lifetime
(an application that has loaded one of them already hands it over as ``preloaded``).
Otherwise the production version of every registered model is served, and :meth:`refresh`
(called every poll interval) loads a newly promoted version in the background and swaps it in
atomically: requests already queued or running are answered, by whichever version runs their
batch. A model that loses its production version keeps serving its last one until restart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path

from bizlm.predictor import Predictor
from bizlm.registry.store import Registry, check_name
from bizlm.serve.observe import ServerMetrics
from bizlm.serve.served import ServedModel, load_bundle, load_version
from bizlm.serve.settings import ServeError, ServeSettings

log = logging.getLogger("bizlm.serve")


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

    def refresh(self) -> list[str]:
        """Serve each model's current production version; returns the models that changed."""
        if self.registry is None:
            return []
        with self._refresh_lock:
            changed = []
            for name, version in sorted(self.registry.production().items()):
                served = self.models.get(name)
                if served is not None and served.current.version == str(version.version):
                    continue
                try:
                    loaded = load_version(version)
                except Exception as exc:  # keep serving the old version; say why
                    log.error("cannot load %s version %s: %s", name, version.version, exc)
                    continue
                if served is None:
                    self.models[name] = ServedModel(name, loaded, self.settings, self.metrics)
                else:
                    served.swap(loaded)
                    self.metrics.reloads.labels(model=name).inc()
                log.info("serving %s version %s", name, version.version)
                changed.append(name)
            return changed

    def close(self) -> None:
        """Stop every model's worker after it answers what is queued."""
        for served in self.models.values():
            served.close()
