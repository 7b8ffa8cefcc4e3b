"""Admin consent: the web flow a tenant administrator follows to grant Rapport its Graph permissions.

``register_admin_routes(app, settings, engine)`` mounts ``GET /admin/consent`` (redirect to Microsoft's
admin-consent endpoint with a signed, expiring ``state``) and ``GET /admin/consent/callback`` (verify, record,
start the first sync). See ``docs/deploy.md``.
"""

from bot.admin.routes import AdminOptions, register_admin_routes

__all__ = ["AdminOptions", "register_admin_routes"]
