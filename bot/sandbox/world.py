"""Who lives in the sandbox: demo residents, a moderator, an organizer, and their chats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.localapi.server import LocalBotAPI
from bot.services import events, municipalities, polls, residents, roles
from bot.services.audiences import Audience
from bot.services.events import EventSpec
from models import AgeGroup, Channel, EventKind, ResultsVisibility, utcnow

VILNIUS = ZoneInfo("Europe/Vilnius")


@dataclass(frozen=True, slots=True)
class Persona:
    user_id: int
    name: str
    label: str
    role: str  # resident, moderator, organizer


RESIDENTS = (
    Persona(7001, "Ona", "Ona – nauja gyventoja", "resident"),
    Persona(7002, "Jonas", "Jonas – naujas gyventojas", "resident"),
    Persona(7003, "Aldona", "Aldona – jau užsiregistravusi", "resident"),
    Persona(7004, "Petras", "Petras – jau užsiregistravęs", "resident"),
)
# Residents who have already agreed and chosen the demo municipality, so that the
# organizer's announcements reach someone from the start.
ONBOARDED = (RESIDENTS[2], RESIDENTS[3])
MODERATOR = Persona(7101, "Rasa", "Rasa – moderatorė", "moderator")
ORGANIZER = Persona(7201, "Tomas", "Tomas – organizatorius", "organizer")
PERSONAS = (*RESIDENTS, MODERATOR, ORGANIZER)

DEMO_MUNICIPALITY = "PAG"
MODERATORS_CHAT_ID = -1001000000001
MODERATORS_CHAT_TITLE = "Pagėgių sav. moderatoriai"


def partner_municipality_codes() -> list[str]:
    """The founding programme's partner municipalities (those with partners in the list)."""
    return [row.code for row in municipalities.read_reference() if row.partners]


def populate_chats(api: LocalBotAPI) -> None:
    """The people and the moderators' group as the local Bot API knows them."""
    for persona in PERSONAS:
        api.add_user(persona.user_id, persona.name)
    api.add_group(
        MODERATORS_CHAT_ID, MODERATORS_CHAT_TITLE, admin_ids=[MODERATOR.user_id, ORGANIZER.user_id]
    )


async def seed(session: AsyncSession) -> None:
    """The organizer (also the sandbox's admin), the demo municipality's moderators' chat,
    and two residents who have finished onboarding."""
    municipality = await municipalities.get_by_code(session, DEMO_MUNICIPALITY)
    assert municipality is not None
    actor = ORGANIZER.user_id
    await roles.grant_organizer(session, actor, ORGANIZER.user_id)
    await roles.grant_moderator(session, actor, MODERATOR.user_id, municipality)
    await roles.bind_moderator_chat(session, actor, municipality, MODERATORS_CHAT_ID)
    await _seed_poll_and_events(session, municipality.id, actor)
    for persona in ONBOARDED:
        resident = await residents.get_or_create(
            session, Channel.TELEGRAM, str(persona.user_id), language="lt"
        )
        residents.give_consent(resident, source="sandbox")
        await residents.set_municipality(session, resident, municipality.id)
        residents.set_age_group(resident, AgeGroup.AGE_65_PLUS)
        residents.finish_onboarding(resident)


DEMO_POLL = "Ar pritariate naujam dviračių takui palei Nemuną?"
DEMO_TRAINING = "Bendruomenės lyderių mokymai"
DEMO_CONSULTATION = "Seniūnijos biudžeto konsultacija"


async def _seed_poll_and_events(session: AsyncSession, municipality_id: int, actor: int) -> None:
    """Something to try at once: an open poll (results after answering) and two upcoming
    events of the demo municipality, one with three places, one online."""
    await polls.create_poll(
        session,
        created_by=actor,
        questions=[polls.QuestionSpec(DEMO_POLL, options=("Taip", "Ne", "Dar nežinau"))],
        audience=Audience(),
        visibility=ResultsVisibility.AFTER_ANSWER,
    )
    day = (utcnow() + timedelta(days=5)).astimezone(VILNIUS).date()
    start = datetime(day.year, day.month, day.day, 17, 0, tzinfo=VILNIUS).astimezone(UTC)
    where = frozenset({municipality_id})
    await events.create_event(
        session,
        EventSpec(
            kind=EventKind.TRAINING,
            title=DEMO_TRAINING,
            starts_at=start,
            ends_at=start + timedelta(hours=3),
            municipality_ids=where,
            description="Kaip telkti kaimynus ir kalbėtis su savivaldybe.",
            place_address="Vilniaus g. 9, Pagėgiai",
            capacity=3,
            questions=("Kokiai bendruomenei atstovaujate?",),
        ),
        created_by=actor,
    )
    await events.create_event(
        session,
        EventSpec(
            kind=EventKind.CONSULTATION,
            title=DEMO_CONSULTATION,
            starts_at=start + timedelta(days=2),
            ends_at=start + timedelta(days=2, hours=1, minutes=30),
            municipality_ids=where,
            description="Kam skirti seniūnijos lėšas kitais metais?",
            online_url="https://meet.example.lt/pagegiai",
        ),
        created_by=actor,
    )
