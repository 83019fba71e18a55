"""``bizlm serve``: run the model server (FastAPI under uvicorn)."""

from __future__ import annotations

import copy
import inspect
import os
from collections.abc import Callable
from dataclasses import fields
from typing import Annotated, Any, TypeVar, get_args, get_type_hints

import torch
import typer
import uvicorn
from uvicorn.config import LOGGING_CONFIG

from bizlm.bundle import read_bundle_info
from bizlm.cli.options import typer_option
from bizlm.pii import NameMasker, use_name_masker
from bizlm.registry.store import Registry
from bizlm.serve.app import create_app
from bizlm.serve.limits import uvicorn_http_options
from bizlm.serve.settings import ServeError, ServeSettings, option_of

CommandFunction = TypeVar("CommandFunction", bound=Callable[..., Any])


def with_settings_options(command: CommandFunction) -> CommandFunction:
    """Give ``command`` (taking ``**options``) one typer parameter per :class:`ServeSettings`
    field that has a command-line option: its name, default, help, panel and limits."""
    hints = get_type_hints(ServeSettings)
    parameters = []
    for settings_field in fields(ServeSettings):
        option = option_of(settings_field)
        if option.help is None:
            continue
        annotation, default = hints[settings_field.name], settings_field.default
        if option.argument:
            (item, _) = get_args(annotation)
            annotation, default = list[item] | None, None  # type: ignore[valid-type]
            info: Any = typer.Argument(help=option.help)
        else:
            default = not default if option.negated else default
            info = typer_option(option)
        parameters.append(
            inspect.Parameter(
                settings_field.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=default,
                annotation=Annotated[annotation, info],
            )
        )
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return command


def settings_from_options(options: dict[str, Any]) -> ServeSettings:
    """The checked settings for the values of the options :func:`with_settings_options` made."""
    values = {}
    for settings_field in fields(ServeSettings):
        if settings_field.name not in options:
            continue
        option, value = option_of(settings_field), options[settings_field.name]
        if option.argument:
            value = tuple(value or ())
        values[settings_field.name] = not value if option.negated else value
    return ServeSettings(**values).check()


@with_settings_options
def serve(**options: Any) -> None:
    """Serve models over HTTP: predict, model info, health, Prometheus metrics, docs at /docs."""
    settings = settings_from_options(options)
    _check_sources(settings)
    if settings.mask_names is not None:
        use_name_masker(NameMasker.load(settings.mask_names))

    # every core: on 2 cores, leaving one to HTTP served 27% fewer requests under load
    torch.set_num_threads(settings.threads or _usable_cores())
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=masked_log_config(),
        access_log=settings.access_log,
        timeout_graceful_shutdown=int(settings.timeout_s) + 1,
        **uvicorn_http_options(settings),
    )


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _check_sources(settings: ServeSettings) -> None:
    """Fail fast, with exit code 2, on a bundle that is not one or an unreachable registry."""
    for path in settings.bundles:
        read_bundle_info(path)
    if not settings.bundles and not Registry(settings.registry_url).production():
        raise ServeError(
            "The registry has no production model to serve.",
            hint="Promote one (`bizlm registry promote NAME VERSION`) or pass bundle folders.",
        )


def masked_log_config() -> dict[str, Any]:
    """Uvicorn's logging setup with personal data masked in every line, plus bizlm's logs."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"pii": {"()": "bizlm.pii.PiiLogFilter"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["pii"]
    config["loggers"]["bizlm"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
