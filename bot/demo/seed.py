"""The local demo: a data folder, a generated key, and a demo host with a local calendar.

``slotbot demo`` needs no configuration: it keeps SQLite and a secret key (both mode 0600) in a
data folder (0700), migrates, and seeds a demo host whose calendar is a *local* calendar stored in
the database, filled from the bundled ``demo/data/sample.ics`` (recurring meetings, an all-day event,
events shown as free). Demo bookings land in that calendar.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts.calendars import is_default_of
from bot.pages.location import LocationKind
from bot.settings import decode_key
from storage.crypto import SecretBox, generate_key
from storage.models import Calendar, CalendarConnection, LocalEvent, SchedulingPage, User

DEMO_SLUG = "demo"
DEMO_EMAIL = "demo.host@example.com"
DEMO_TIMEZONE = "Europe/Copenhagen"
DEMO_VIDEO_LINK = "https://video.example.com/demo-host"  # example.com: a link that is clearly the demo's
KEY_FILE = "secret.key"


class DemoSetupError(Exception):
    """The demo data folder cannot be used (one line, shown to the user)."""


@dataclass(frozen=True, slots=True)
class DemoExchange:
    """The demo's Exchange server and its sample mailbox, for the dashboard's form to offer."""

    url: str
    email: str
    password: str = field(repr=False)
    certificate: Path = Path()


@dataclass(frozen=True, slots=True)
class DemoHost:
    """Ids of what the demo seeded."""

    user_id: int
    calendar_id: int


def prepare_data_dir(path: Path) -> str:
    """Create the data folder if needed (mode 0700) and return its secret key (made once, 0600)."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise DemoSetupError(f"cannot create the data folder {path}: {exc.strerror}") from None
    _require_writable(path)
    key_path = path / KEY_FILE
    if not key_path.exists():
        key = generate_key()
        try:
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        except OSError as exc:
            raise DemoSetupError(f"cannot write {key_path}: {exc.strerror}") from None
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(key + "\n")
    key_text = key_path.read_text().strip()
    try:
        decode_key(key_text)
    except ValueError:
        raise DemoSetupError(
            f"{key_path} does not hold a valid key; delete it to make a new one"
        ) from None
    return key_text


def _require_writable(path: Path) -> None:
    """Refuse a data folder the demo cannot write (SQLite keeps its journal files beside the
    database, so a read-only folder breaks every booking even when the file itself is fine)."""
    try:
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise DemoSetupError(f"the data folder {path} is not writable: {exc.strerror}") from None


def sample_ics() -> str:
    """The bundled sample calendar."""
    return resources.files("bot.demo").joinpath("data/sample.ics").read_text(encoding="utf-8")


async def seed(sessions: async_sessionmaker[AsyncSession], secrets: SecretBox, *,
               showcase: bool = False) -> DemoHost:
    """Create the demo host, its local calendar and its page, once; return their ids.

    ``showcase`` (``slotbot demo``): the page also has a video link and e-mail reminders a day
    and an hour before (the host too), so the demo's confirmation, e-mails, invitations and
    reminders show them. Tests seed the plain page and set such fields where they test them.
    """
    async with sessions() as session, session.begin():
        user = (await session.execute(select(User).where(User.slug == DEMO_SLUG))).scalar_one_or_none()
        if user is not None:
            calendar_id = (
                await session.execute(
                    select(Calendar.id).where(is_default_of(user.id))
                )
            ).scalar_one()
            return DemoHost(user.id, calendar_id)
        user = User(
            display_name="Demo Host",
            email=DEMO_EMAIL,
            timezone=DEMO_TIMEZONE,
            locale="en",
            slug=DEMO_SLUG,
            is_admin=True,  # the demo's only user runs the place: custom domains are theirs to add
        )
        session.add(user)
        await session.flush()
        connection = CalendarConnection(
            user_id=user.id,
            provider="local",
            account_email=DEMO_EMAIL,
            credentials=secrets.seal(json.dumps({}), purpose="connection.credentials"),
        )
        session.add(connection)
        await session.flush()
        calendar = Calendar(
            connection_id=connection.id,
            user_id=user.id,
            external_id="demo",
            name="Demo calendar",
            access_role="owner",
            time_zone=DEMO_TIMEZONE,
            is_default=True,
        )
        session.add(calendar)
        await session.flush()
        session.add(LocalEvent(calendar_id=calendar.id, uid="sample", ical=sample_ics()))
        session.add(
            SchedulingPage(
                owner_id=user.id,
                slug="intro",
                title="Intro call",
                description="A short call to get to know each other.",
                durations=[30, 60],
                rules={},
                is_default=True,
                in_widget=True,
                location_kind=LocationKind.LINK.value if showcase else "",
                location_value=DEMO_VIDEO_LINK if showcase else "",
                reminders=[1440, 60] if showcase else [],
                remind_host=showcase,
            )
        )
        return DemoHost(user.id, calendar.id)
