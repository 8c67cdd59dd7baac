"""The dashboard's login: the exact token (or password), passkit's own login page, and a throttle.

Jupyter Server strips spaces from the token and password it is given (tornado's `get_argument`),
so "TOKEN " logged in; here the value must match exactly, compared in constant time. After
`login_failures_allowed` wrong tokens or passwords in a row from one address, that address is
refused (HTTP 429), even the right token, for `login_lockout_seconds`, doubling with each further
failure up to an hour; a successful login clears its count. The login and logout pages are
config/jupyter/voila/templates/passkit/login.html and logout.html (Jupyter's own needed a
static_url setting Voila lacks, so /logout answered 500).
"""

import hmac
import inspect
import time

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.auth.identity import PasswordIdentityProvider
from jupyter_server.auth.login import LoginFormHandler
from jupyter_server.auth.logout import LogoutHandler as JupyterLogoutHandler
from tornado.escape import url_escape
from traitlets import Float, Integer

LONGEST_LOCKOUT = 3600.0
REMEMBERED = 10_000  # addresses kept; beyond it those whose lockout ended are forgotten


class LoginThrottle:
    """Consecutive failed logins per client address, and how long each address is locked out."""

    def __init__(self, allowed: int = 5, lockout: float = 30.0):
        self.allowed, self.lockout = allowed, lockout
        self.failures: dict[str, tuple[int, float]] = {}  # address -> (failures in a row, locked until)

    def locked_for(self, address: str, now: float) -> float:
        """Seconds until `address` may try again (0 when it may now)."""
        return max(0.0, self.failures.get(address, (0, 0.0))[1] - now)

    def failed(self, address: str, now: float):
        count = self.failures.get(address, (0, 0.0))[0] + 1
        locked = 0.0
        if count >= self.allowed:
            locked = now + min(self.lockout * 2 ** (count - self.allowed), LONGEST_LOCKOUT)
        self.failures[address] = (count, locked)
        if len(self.failures) > REMEMBERED:
            self.failures = {a: f for a, f in self.failures.items() if f[1] > now - LONGEST_LOCKOUT}

    def succeeded(self, address: str):
        self.failures.pop(address, None)


class DashboardIdentityProvider(PasswordIdentityProvider):
    """Token or password login, matched exactly, with failed attempts throttled per address."""

    login_failures_allowed = Integer(
        5, config=True, help="Wrong tokens or passwords in a row from one address before it is locked out.")
    login_lockout_seconds = Float(
        30, config=True, help="First lockout after too many failed logins; doubles with each further "
                              "failure, up to an hour. A successful login clears the count.")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.throttle = LoginThrottle(self.login_failures_allowed, self.login_lockout_seconds)

    def get_handlers(self):
        return [(r"/login", LoginHandler), (r"/logout", LogoutHandler)]

    def get_token(self, handler):
        token = handler.get_argument("token", "", strip=False)
        if not token:
            match = self.auth_header_pat.match(handler.request.headers.get("Authorization", ""))
            token = match.group(2) if match else ""
        return token

    def locked_for(self, handler) -> float:
        return self.throttle.locked_for(handler.request.remote_ip, time.monotonic())

    def record(self, handler, success: bool):
        if success:
            self.throttle.succeeded(handler.request.remote_ip)
        else:
            self.throttle.failed(handler.request.remote_ip, time.monotonic())
            self.log.warning("Failed login from %s", handler.request.remote_ip)

    def token_matches(self, given: str) -> bool:
        return bool(self.token) and hmac.compare_digest(given.encode(), self.token.encode())

    async def get_user_token(self, handler):
        given = self.get_token(handler)
        if not given:
            return None
        if self.locked_for(handler):
            return None  # not even checked: a locked-out address learns nothing
        success = self.token_matches(given)
        self.record(handler, success)
        if not success:
            return None
        user = self.get_user_cookie(handler)
        if inspect.isawaitable(user):
            user = await user
        return user or self.generate_anonymous_user(handler)

    def process_login_form(self, handler):
        typed = handler.get_argument("password", default="", strip=False)
        success = bool(typed) and (self.token_matches(typed) or (bool(self.hashed_password)
                                                                 and self.passwd_check(typed)))
        self.record(handler, success)
        return self.generate_anonymous_user(handler) if success else None


class LoginHandler(LoginFormHandler):
    """passkit's login page (login.html of the dashboard's template), answering 429 while locked out."""

    def _render(self, message=None):
        next_url = url_escape(self.get_argument("next", default=self.base_url))
        self.write(self.render_template("login.html", next=next_url, message=message))

    def _render_locked_out(self, wait: float):
        seconds = int(wait) + 1
        self.set_header("Retry-After", str(seconds))
        self._render({"error": f"Too many failed logins from this address. Try again in {seconds} seconds."})

    @allow_unauthenticated
    async def post(self):
        wait = self.identity_provider.locked_for(self)
        if wait:
            self.set_status(429)
            return self._render_locked_out(wait)
        user = self.identity_provider.process_login_form(self)
        if user is None:
            self.set_status(401)
            return self._render({"error": "That token or password is not right."})
        self.current_user = user
        self.identity_provider.set_login_cookie(self, user)
        self._redirect_safe(self.get_argument("next", default=self.base_url))

    @allow_unauthenticated
    def get(self):
        if not self.current_user:
            wait = self.identity_provider.locked_for(self)
            if wait:
                return self._render_locked_out(wait)
        return super().get()


class LogoutHandler(JupyterLogoutHandler):
    """Clears the login cookie and says so on passkit's own page."""

    @allow_unauthenticated
    def get(self):
        self.identity_provider.clear_login_cookie(self)
        self.write(self.render_template("logout.html"))
