"""aiogram routers, one module per audience or feature.

Each module has ``create_router()``; routers are built anew for every Dispatcher, since a
router can be attached to one Dispatcher only (tests and the sandbox build several).
"""

from __future__ import annotations

from aiogram import Router

from handlers import (
    admin,
    announcements,
    event_admin,
    event_attendance,
    events,
    fallback,
    linking,
    membership,
    menu,
    mydata,
    notifications,
    onboarding,
    poll_admin,
    poll_answering,
    poll_results,
    proposal_export,
    proposal_moderation,
    proposals,
    settings,
    survey_upload,
)


def get_routers() -> list[Router]:
    # Order matters: specific handlers first, the fallback last.
    return [
        admin.create_router(),
        proposal_moderation.create_router(),
        membership.create_router(),
        onboarding.create_router(),
        settings.create_router(),
        mydata.create_router(),
        poll_answering.create_router(),
        events.create_router(),
        menu.create_router(),
        proposals.create_router(),
        notifications.create_router(),
        announcements.create_router(),
        poll_admin.create_router(),
        event_admin.create_router(),
        poll_results.create_router(),
        survey_upload.create_router(),
        event_attendance.create_router(),
        proposal_export.create_router(),
        linking.create_router(),
        fallback.create_router(),
    ]
