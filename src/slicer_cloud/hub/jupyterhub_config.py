# JupyterHub configuration used by `slicer-cloud hub`: one machine, many users, one Slicer session each.
#
# Copy it and change it: `slicer-cloud hub --print-config > jupyterhub_config.py`, edit, then
# `slicer-cloud hub --config jupyterhub_config.py` (or `jupyterhub -f jupyterhub_config.py`).
# Every value below comes from a SLICER_CLOUD_HUB_* environment variable that `slicer-cloud hub` sets from its flags,
# with the default shown next to it, so the file also works on its own.
#
# What runs:
#   browser -> configurable-http-proxy (npm; the public port) -> JupyterHub (login, spawning; SQLite database)
#           -> each user's Jupyter server (JupyterLab) -> jupyter-server-proxy -> that user's own processes:
#              `slicer-cloud serve` ("Slicer Web", /user/NAME/slicer/)
#              `slicer-cloud desktop` ("Slicer Desktop", /user/NAME/slicer-desktop/)
#   plus the idle culler (jupyterhub-idle-culler), a hub service that stops servers nobody used for a while.
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file


def env(name, default):
    return os.environ.get("SLICER_CLOUD_HUB_" + name, default)


state = Path(env("STATE", "~/.local/share/slicer-cloud/hub")).expanduser()  # database, cookie secret, homes
state.mkdir(parents=True, exist_ok=True, mode=0o700)

# ---- network -------------------------------------------------------------------------------------------------------
# The public address. Loopback by default: put a TLS proxy (Caddy, nginx) in front, or bind 0.0.0.0 behind a firewall.
c.JupyterHub.bind_url = f"http://{env('IP', '127.0.0.1')}:{env('PORT', '8000')}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{env('HUB_PORT', '8081')}"  # the hub itself, reached via the proxy
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env('PROXY_API_PORT', '8001')}"
c.ConfigurableHTTPProxy.command = [env("PROXY_COMMAND", "configurable-http-proxy")]
public_url = env("PUBLIC_URL", "")  # e.g. https://slicer.example.org when TLS ends in front of the hub
if public_url:
    c.JupyterHub.public_url = public_url

# ---- state: the embedded default database ---------------------------------------------------------------------------
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")

# ---- who may log in ------------------------------------------------------------------------------------------------
users = {u.strip() for u in env("USERS", "").split(",") if u.strip()}
admins = {u.strip() for u in env("ADMINS", "").split(",") if u.strip()}
auth = env("AUTH", "dummy")
if auth == "dummy":
    # Any password: for a laptop or a test, on loopback only (`slicer-cloud hub` refuses it on other addresses).
    c.JupyterHub.authenticator_class = "dummy"
elif auth == "shared":
    # One password for everyone (at least 8 characters), e.g. a course; `slicer-cloud hub` makes and prints one.
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = env("PASSWORD", "")
elif auth == "native":
    # Users sign up at /hub/signup; an admin authorizes them at /hub/authorize (jupyterhub-nativeauthenticator).
    import nativeauthenticator

    c.JupyterHub.authenticator_class = "native"
    c.JupyterHub.template_paths = [str(Path(nativeauthenticator.__file__).parent / "templates")]
    c.NativeAuthenticator.open_signup = env("OPEN_SIGNUP", "0") == "1"
    c.NativeAuthenticator.minimum_password_length = 8
    c.NativeAuthenticator.check_common_password = True
elif auth == "oauth":
    # Any OAuth2 / OpenID Connect provider (oauthenticator's GenericOAuthenticator); it reads OAUTH_CLIENT_ID,
    # OAUTH_CLIENT_SECRET, OAUTH_CALLBACK_URL (https://HOST/hub/oauth_callback), OAUTH2_AUTHORIZE_URL,
    # OAUTH2_TOKEN_URL and OAUTH2_USERDATA_URL from the environment.
    c.JupyterHub.authenticator_class = "generic-oauth"
    c.GenericOAuthenticator.username_claim = env("OAUTH_USERNAME_CLAIM", "preferred_username")
    c.GenericOAuthenticator.scope = env("OAUTH_SCOPE", "openid,profile,email").split(",")
elif auth == "pam":
    # The machine's own accounts (system users); use with SLICER_CLOUD_HUB_SPAWNER=system.
    c.JupyterHub.authenticator_class = "pam"
else:
    raise ValueError(f"unknown SLICER_CLOUD_HUB_AUTH {auth!r}: use dummy, shared, native, oauth or pam")
if users:
    c.Authenticator.allowed_users = users
else:
    c.Authenticator.allow_all = True  # anyone the authenticator accepts
c.Authenticator.admin_users = admins

# ---- one Jupyter server per user, with the Slicer launchers ---------------------------------------------------------
spawner = env("SPAWNER", "simple")
if spawner == "simple":
    # Every user's server runs as the hub's own OS user, with its home under the state folder. Sessions are still
    # separated by the hub's login and per-session tokens, but files are not: for a laptop, a demo or a trusted team.
    c.JupyterHub.spawner_class = "simple"
    c.SimpleLocalProcessSpawner.home_dir_template = str(state / "users" / "{username}")
    if os.geteuid() == 0:
        c.Spawner.args = ["--allow-root"]  # a hub run as root (e.g. in a container) runs the servers as root too
elif spawner == "system":
    # Each user's server runs as that system user (the hub must run as root; users must exist: `adduser NAME`).
    c.JupyterHub.spawner_class = "default"
elif spawner == "systemd":
    # A systemd unit per user (jupyterhub-systemdspawner): memory and CPU limits are enforced (MemoryMax, CPUQuota).
    c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"
    c.SystemdSpawner.dynamic_users = env("DYNAMIC_USERS", "1") == "1"
else:
    raise ValueError(f"unknown SLICER_CLOUD_HUB_SPAWNER {spawner!r}: use simple, system or systemd")
# The single-user server from this Python environment, so it has slicer-cloud and its launchers.
c.Spawner.cmd = [env("PYTHON", sys.executable), "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = env("DEFAULT_URL", "/lab")  # JupyterLab; its launcher shows Slicer Web and Slicer Desktop
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 90
# Per-user limits (e.g. "4G", 2.0). Enforced by the systemd, Docker and Kubernetes spawners; the local spawners only
# pass them on as MEM_LIMIT / CPU_LIMIT variables (shown by jupyter-resource-usage), see docs/deploy.md.
if env("MEM_LIMIT", ""):
    c.Spawner.mem_limit = env("MEM_LIMIT", "")
if env("CPU_LIMIT", ""):
    c.Spawner.cpu_limit = float(env("CPU_LIMIT", "1"))

# ---- idle sessions stop (each Slicer session autosaves its scene first) ---------------------------------------------
idle_timeout = int(env("IDLE_TIMEOUT", "3600"))  # seconds without activity; 0 keeps servers running
# How often activity is reported and checked: a sixth of the timeout, between 5 s and 5 min.
tick = max(5, min(300, idle_timeout // 6)) if idle_timeout else 300
c.JupyterHub.last_activity_interval = tick
c.Spawner.environment = {
    "JUPYTERHUB_ACTIVITY_INTERVAL": str(tick),
    # The viewer's WebSocket must come from the page's own origin; behind TLS that is the public URL.
    **({"SLICER_CLOUD_ALLOWED_ORIGINS": public_url.rstrip("/")} if public_url else {}),
}
if idle_timeout:
    c.JupyterHub.services = [
        {
            "name": "idle-culler",
            "command": [
                sys.executable,
                "-m",
                "jupyterhub_idle_culler",
                f"--timeout={idle_timeout}",
                f"--cull-every={tick}",
            ],  # fmt: skip
        }
    ]
    c.JupyterHub.load_roles = [
        {
            "name": "idle-culler",
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
            "services": ["idle-culler"],
        }
    ]
