"""The built-in web dashboard at /dashboard/: a page (assets.py) that talks to the real API
with the user's own bearer token, so RBAC applies as for kubectl, and the utilization
history (history.py, sampled by sampler.py) that the page plots, served by api.py.

Wired in apiserver/app.py (`build_app(dashboard=...)`) and started by apiserver/server.py.
"""

from kubelite.apiserver.dashboard.service import Dashboard

__all__ = ["Dashboard"]
