"""The dashboard's CSV import of contacts: the upload form and what the import did.

``GET /dashboard/contacts/import`` shows the form (which columns are read, the caps);
``POST`` (multipart, the file in ``file``) reads it with :mod:`bot.contacts.csv_import` and shows
how many contacts were added and updated, and each row left out with its line and reason. A file
over the size cap is refused with a sentence before its body is read (the app's own request cap
would otherwise answer first, with no explanation); a file that cannot be used at all is shown
again with the sentence beside the field.
"""

from __future__ import annotations

from aiohttp import web

from bot.accounts.tokens import Session
from bot.contacts.csv_import import MAX_BYTES, MAX_ROWS, ImportRefused, import_csv
from bot.handlers.dashboard_base import page, session_of, signed_in, translator
from bot.keys import CONTACTS

FORM_OVERHEAD = 8 * 1024
"""Room for the multipart envelope and the CSRF field around the file itself."""


def setup(app: web.Application) -> None:
    """Add the import routes (before ``/dashboard/contacts/{id}``)."""
    app.router.add_get("/dashboard/contacts/import", signed_in(form_page))
    app.router.add_post("/dashboard/contacts/import", upload)


def too_big() -> str:
    """The sentence for a file over the size cap."""
    return (f"The file is larger than {MAX_BYTES // 1024} KB. Split it into smaller files and "
            "import them one after another.")


def _form(request: web.Request, session: Session, *, error: str = "", status: int = 200) -> web.Response:
    return page(request, "contacts_import.html", {
        "csrf": session.csrf_token, "error": error, "result": None,
        "max_kb": MAX_BYTES // 1024, "max_rows": f"{MAX_ROWS:,}"}, status)


async def form_page(request: web.Request, session: Session) -> web.StreamResponse:
    """The upload form."""
    return _form(request, session)


async def upload(request: web.Request) -> web.StreamResponse:
    """Refuse a body over the cap before reading it; otherwise the signed-in import."""
    session = await session_of(request)
    if session is not None and (request.content_length or 0) > MAX_BYTES + FORM_OVERHEAD:
        return _form(request, session, error=too_big(), status=413)
    return await signed_in(_import)(request)


async def _import(request: web.Request, session: Session) -> web.StreamResponse:
    """Import the uploaded file and show what happened."""
    form = await request.post()
    upload = form.get("file")
    if not isinstance(upload, web.FileField) or not upload.filename:
        _ = translator(request).gettext
        return _form(request, session, error=_("Choose a CSV file to import."), status=400)
    data = upload.file.read(MAX_BYTES + 1)
    try:
        result = await import_csv(request.app[CONTACTS], session.user_id, data)
    except ImportRefused as refused:
        return _form(request, session, error=str(refused), status=400)
    return page(request, "contacts_import.html", {
        "csrf": session.csrf_token, "error": "", "result": result, "filename": upload.filename,
        "max_kb": MAX_BYTES // 1024, "max_rows": f"{MAX_ROWS:,}"})
