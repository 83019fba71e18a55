"""The plugin registries: built-ins registered once on first use, duplicates refused naming
both modules, runtimes looked up by name, and no registry importing its plugins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

import bizlm
from bizlm.bundle_info import BundleInfo
from bizlm.bundle_runtimes import RUNTIMES, bundle_loader, register_runtime, runtime_names
from bizlm.cli import run
from bizlm.continual.strategies import STRATEGIES, Strategy, register_strategy
from bizlm.errors import BundleError
from bizlm.methods import base as method_base
from bizlm.methods import method_class, register_method
from bizlm.methods.full import FullFineTuning
from bizlm.plugin_registry import DuplicatePluginError, Registry
from bizlm.tasks import TASKS, register_task
from bizlm.tasks.score import ScoreTask


@pytest.fixture
def widgets(monkeypatch: pytest.MonkeyPatch) -> tuple[Registry[str], list[str]]:
    """A fresh registry whose built-ins (``gear``) come from a module of its own; the list
    records each time they were registered."""
    calls: list[str] = []
    module = types.ModuleType("widget_builtins")

    def register_widgets() -> None:
        calls.append("registered")
        registry.add("gear", "a gear")

    module.register_widgets = register_widgets  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "widget_builtins", module)
    registry: Registry[str] = Registry("widget", "widget_builtins:register_widgets")
    return registry, calls


def test_builtins_are_registered_once_on_first_use(widgets) -> None:
    registry, calls = widgets
    assert calls == []
    assert "gear" in registry and registry["gear"] == "a gear"
    assert sorted(registry) == ["gear"] and len(registry) == 1
    assert calls == ["registered"]


def test_a_plugin_added_before_first_use_meets_the_builtins(widgets) -> None:
    registry, calls = widgets
    registry.add("spring", "a spring")
    assert calls == ["registered"]
    assert sorted(registry) == ["gear", "spring"]
    with pytest.raises(DuplicatePluginError):
        registry.add("gear", "another gear")


def test_failing_builtins_are_retried_from_the_start(widgets, monkeypatch) -> None:
    registry, calls = widgets
    module = sys.modules["widget_builtins"]
    working = module.register_widgets

    def half_then_fail() -> None:
        working()
        raise ImportError("a plugin's dependency is missing")

    monkeypatch.setattr(module, "register_widgets", half_then_fail)
    with pytest.raises(ImportError, match="dependency is missing"):
        registry["gear"]
    monkeypatch.setattr(module, "register_widgets", working)
    assert list(registry) == ["gear"]
    assert calls == ["registered", "registered"]


class Lora(FullFineTuning):
    name = "lora"


class Naive(Strategy):
    name = "naive"
    description = "a second naive strategy"


def _open_nothing(path: Path, info: BundleInfo) -> None:
    """A runtime loader that is never called."""


@pytest.mark.parametrize(
    ("register", "first", "second"),
    [
        (lambda: register_method(Lora), "bizlm.methods.lora", __name__),
        (lambda: register_task("classify")(ScoreTask), "bizlm.tasks.classify", "bizlm.tasks.score"),
        (lambda: register_strategy(Naive), "bizlm.continual.strategies.naive", __name__),
        (lambda: register_runtime("torch", _open_nothing), "bizlm.compress.runtimes", __name__),
    ],
    ids=["method", "task", "strategy", "runtime"],
)
def test_a_taken_name_is_refused_naming_both_modules(register, first: str, second: str) -> None:
    with pytest.raises(DuplicatePluginError) as caught:
        register()
    message = str(caught.value)
    assert f"{first} (registered first) and {second}" in message
    assert "another" in message  # what to do


def test_a_registered_method_is_found_by_name(monkeypatch) -> None:
    fresh = Registry("method", "bizlm.builtins:register_methods")
    monkeypatch.setattr(method_base, "METHODS", fresh)

    @register_method
    class Sparse(FullFineTuning):
        name = "sparse"

    assert method_class("sparse") is Sparse
    assert method_class("full") is FullFineTuning


def test_the_builtins_are_registered() -> None:
    assert method_class("lora").__module__ == "bizlm.methods.lora"
    assert method_class("zeroshot").__module__ == "bizlm.prompting.methods"
    assert sorted(TASKS) == ["classify", "classify/multi_label", "generate", "score", "tag"]
    assert sorted(STRATEGIES) == ["adapters", "ewc", "lwf", "naive", "replay"]
    assert runtime_names() == ["onnxruntime", "torch", "transformers"]


@pytest.mark.parametrize(
    ("runtime", "prompt", "key"),
    [
        ("transformers", None, "transformers"),
        ("transformers", {"template": "{text}"}, "transformers/prompt"),
        ("torch", None, "torch"),
        ("onnxruntime", {"template": "{text}"}, "onnxruntime"),
    ],
)
def test_a_bundle_is_opened_by_its_runtime_and_kind(runtime: str, prompt, key: str) -> None:
    info = BundleInfo(labels=["a", "b"], runtime=runtime, prompt=prompt)
    assert bundle_loader("bundle", info) is RUNTIMES[key]


def _bundle_with_runtime(folder: Path, runtime: str) -> Path:
    (folder / "model").mkdir(parents=True)
    (folder / "model" / "config.json").write_text("{}")
    (folder / "bizlm.json").write_text(json.dumps({"labels": ["a", "b"], "runtime": runtime}))
    return folder


@pytest.mark.parametrize("runtime", ["tensorrt", "transformers/prompt"])
def test_an_unknown_runtime_names_the_known_ones(tmp_path: Path, runtime: str) -> None:
    bundle = _bundle_with_runtime(tmp_path / "bundle", runtime)
    with pytest.raises(BundleError) as caught:
        bizlm.load(bundle)
    message = str(caught.value)
    assert f"needs runtime '{runtime}'" in message and str(bundle) in message
    assert "it knows onnxruntime, torch, transformers" in message
    assert "re-export" in message


def test_an_unknown_runtime_is_a_usage_error_on_the_command_line(tmp_path, capsys) -> None:
    bundle = _bundle_with_runtime(tmp_path / "bundle", "tensorrt")
    assert run(["predict", str(bundle), "hello"]) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "Traceback" not in message
    assert "needs runtime 'tensorrt'" in message and "onnxruntime, torch, transformers" in message


def test_registries_import_no_plugins() -> None:
    script = (
        "import sys\n"
        "import bizlm.methods, bizlm.tasks, bizlm.continual.strategies, bizlm.bundle_runtimes\n"
        "plugins = ('bizlm.builtins', 'bizlm.prompting', 'bizlm.compress', 'bizlm.methods.lora',"
        " 'bizlm.tasks.classify', 'bizlm.continual.strategies.replay')\n"
        "print(sorted(m for m in sys.modules if m.startswith(plugins)))\n"
    )
    root = str(Path(bizlm.__file__).parents[1])
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": root},
    )
    assert result.stdout.strip() == "[]"
