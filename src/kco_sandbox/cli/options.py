"""Options shared by several commands, each with its default taken from `Settings`.

`serve` and `worker` must agree on the database, the schedules, the attempt time-out and the
clock's scale, so those options are defined once here.
"""

from __future__ import annotations

from typing import Final

import click

from kco_sandbox import logs
from kco_sandbox.settings import Settings

DEFAULTS: Final = Settings()


def _gaps(gaps: tuple[int, ...]) -> str:
    return ",".join(map(str, gaps))


database_option = click.option(
    "--database-url",
    envvar="KCO_SANDBOX_DATABASE_URL",
    default=DEFAULTS.database_url,
    show_default=True,
    show_envvar=True,
    help="sqlite:///FILE (embedded default) or postgresql://USER@HOST/DB.",
)
push_schedule_option = click.option(
    "--push-schedule",
    envvar="KCO_SANDBOX_PUSH_SCHEDULE",
    default=_gaps(DEFAULTS.push_schedule),
    show_default=True,
    show_envvar=True,
    help="Seconds between push attempts (the last repeats), within 48 hours of the purchase.",
)
notification_schedule_option = click.option(
    "--notification-schedule",
    envvar="KCO_SANDBOX_NOTIFICATION_SCHEDULE",
    default=_gaps(DEFAULTS.notification_schedule),
    show_default=True,
    show_envvar=True,
    help="Seconds between notification attempts, from the decision (the last repeats).",
)
callback_timeout_option = click.option(
    "--callback-timeout",
    envvar="KCO_SANDBOX_CALLBACK_TIMEOUT",
    default=DEFAULTS.callback_timeout,
    show_default=True,
    show_envvar=True,
    type=float,
    help="Seconds one push or notification attempt may take.",
)
clock_scale_option = click.option(
    "--clock-scale",
    envvar="KCO_SANDBOX_CLOCK_SCALE",
    default=DEFAULTS.clock_scale,
    show_default=True,
    show_envvar=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Run the platform clock this many times faster than real time (60: an hour a minute); "
    "give every process the same value.",
)
# Where `serve` listens; the commands that talk to a running server build their default URL from
# the same two settings, so `KCO_SANDBOX_PORT=9000` moves both.
host_option = click.option(
    "--host",
    envvar="KCO_SANDBOX_HOST",
    default=DEFAULTS.host,
    show_default=True,
    show_envvar=True,
    help="Address the server listens on (0.0.0.0 and :: are reached on this machine).",
)
port_option = click.option(
    "--port",
    envvar="KCO_SANDBOX_PORT",
    default=DEFAULTS.port,
    show_default=True,
    show_envvar=True,
    type=click.IntRange(0, 65535),
    help="Port the server listens on.",
)
log_level_option = click.option(
    "--log-level",
    envvar="KCO_SANDBOX_LOG_LEVEL",
    default=DEFAULTS.log_level,
    show_default=True,
    show_envvar=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
log_format_option = click.option(
    "--log-format",
    envvar="KCO_SANDBOX_LOG_FORMAT",
    default=DEFAULTS.log_format,
    show_default=True,
    show_envvar=True,
    type=click.Choice(logs.FORMATS),
    help="text for people; json (one object per line) for log collectors.",
)
